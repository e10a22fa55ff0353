//! Gmail labels of a selected folder (`synclabels`): `X-GM-LABELS` read
//! with one `UID FETCH` and changed with `UID STORE +X-GM-LABELS` /
//! `-X-GM-LABELS`, one label at a time over every UID it concerns, as
//! offlineimap3 groups them.

use std::collections::BTreeMap;

use async_imap::imap_proto::{AttributeValue, Response};

use super::ImapFolder;
use crate::imap::error::ErrorKind;
use crate::imap::wire;
use crate::sync::labels::LabelSet;
use crate::sync::model::Uid;
use crate::sync::store::{ErrorKind as StoreKind, StoreError};

impl ImapFolder {
    /// Every message's labels. A message the server answers without
    /// `X-GM-LABELS` has none.
    pub async fn gmail_labels(&mut self) -> Result<BTreeMap<Uid, LabelSet>, StoreError> {
        let mut out = BTreeMap::new();
        if self.session.exists == 0 {
            return Ok(out);
        }
        let command = self.command("UID FETCH X-GM-LABELS");
        self.session
            .run(&command, "UID FETCH 1:* (UID X-GM-LABELS)", &mut |r| {
                let Response::Fetch(_, attrs) = r else {
                    return;
                };
                let mut uid = None;
                let mut labels = LabelSet::new();
                for a in attrs {
                    match a {
                        AttributeValue::Uid(u) => uid = Some(*u),
                        AttributeValue::GmailLabels(l) => {
                            labels.extend(l.iter().map(|s| s.to_string()));
                        }
                        _ => {}
                    }
                }
                if let Some(u) = uid {
                    out.insert(u, labels);
                }
            })
            .await?;
        Ok(out)
    }

    /// Adds (`add`) or removes `label` on `uids`.
    pub async fn store_gmail_label(
        &mut self,
        uids: &[Uid],
        add: bool,
        label: &str,
    ) -> Result<(), StoreError> {
        if uids.is_empty() {
            return Ok(());
        }
        self.check_writable("UID STORE X-GM-LABELS")?;
        let command = self.command("UID STORE X-GM-LABELS");
        let Some(quoted) = wire::quote(label) else {
            let e = self.session.error(
                &command,
                ErrorKind::Unsupported(format!("label {label:?} cannot be sent")),
            );
            return Err(e.into_store_error(StoreKind::Message));
        };
        let sign = if add { '+' } else { '-' };
        for set in wire::uid_sets(uids, wire::MAX_SET_LEN) {
            let line = format!("UID STORE {set} {sign}X-GM-LABELS ({quoted})");
            self.session.run(&command, &line, &mut |_| {}).await?;
        }
        Ok(())
    }
}
