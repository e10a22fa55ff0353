//! Logging in, as OfflineIMAP does: each mechanism of `auth_mechanisms`
//! in turn (default GSSAPI, XOAUTH2, CRAM-MD5, PLAIN, LOGIN), each only
//! when the server offers it (`AUTH=<name>`; the LOGIN command needs no
//! capability but is not sent under LOGINDISABLED, where AUTHENTICATE
//! LOGIN stands in). A failed mechanism leaves the connection usable, so
//! the next one is tried; when all fail, one error lists why each did.
//!
//! XOAUTH2 is skipped when no OAuth2 token is configured, GSSAPI always
//! (with a warning when the server offers it). With `remote_identity`
//! only PLAIN can carry the authorization identity, so only PLAIN is used.
//!
//! Passwords, tokens and secrets are read from their `Secret` only to
//! build a SASL response; no error or warning contains them.

use std::time::Duration;

use async_imap::{Authenticator, Client, Session};
use md5::{Digest, Md5};

use super::connect::{ImapStream, has_cap};
use super::error::{Error, ErrorKind};
use super::wire;
use crate::config::oauth2;
use crate::config::{AuthMechanism, ImapRepository, Secret};

/// A logged-in session and what the login has to say: failed mechanisms
/// before the one that worked, a skipped GSSAPI.
pub(crate) struct Authenticated {
    pub session: Session<ImapStream>,
    pub warnings: Vec<String>,
}

/// How one mechanism's attempt ended.
enum Attempt {
    Done(Session<ImapStream>),
    /// The server (or the token endpoint) said no; the client is back.
    Failed(Client<ImapStream>, String),
}

/// Logs in on a greeted (and, as configured, secured) connection whose
/// capabilities are `caps`.
pub(crate) async fn login(
    mut client: Client<ImapStream>,
    repo: &ImapRepository,
    host: &str,
    limit: Duration,
    caps: &[String],
) -> Result<Authenticated, Error> {
    let err = |kind| Error::new(host, "LOGIN", kind);
    let user = repo
        .user
        .as_deref()
        .ok_or_else(|| err(ErrorKind::Unsupported("no remoteuser configured".into())))?;
    let identity = repo.remote_identity.as_deref();
    let offered = |m: AuthMechanism| match m {
        AuthMechanism::Login => !has_cap(caps, "LOGINDISABLED") || has_cap(caps, "AUTH=LOGIN"),
        m => has_cap(caps, &format!("AUTH={}", m.name())),
    };
    if identity.is_some()
        && !(repo.auth_mechanisms.contains(&AuthMechanism::Plain) && offered(AuthMechanism::Plain))
    {
        return Err(err(ErrorKind::Unsupported(format!(
            "remote_identity needs SASL PLAIN, which {}",
            if repo.auth_mechanisms.contains(&AuthMechanism::Plain) {
                format!("the server does not offer ({})", offered_list(caps))
            } else {
                "auth_mechanisms does not list".to_owned()
            }
        ))));
    }

    let mut warnings = Vec::new();
    let mut failures: Vec<(&str, String)> = Vec::new();
    // Mechanisms left out for want of a password, named once at the end.
    let mut no_password: Vec<&str> = Vec::new();
    for &mech in &repo.auth_mechanisms {
        if !offered(mech) || (identity.is_some() && mech != AuthMechanism::Plain) {
            continue;
        }
        let password = || repo.password.as_ref().ok_or(());
        let attempt = match mech {
            AuthMechanism::Gssapi => {
                warnings.push(format!(
                    "{host}: GSSAPI (Kerberos) is offered but not supported by this version; trying the next mechanism"
                ));
                continue;
            }
            AuthMechanism::XOAuth2 => {
                let Some(config) = &repo.oauth2 else {
                    continue;
                };
                match oauth2::access_token(&repo.common.name, config, limit).await {
                    Ok(token) => {
                        let auth = XOAuth2 {
                            user,
                            token: &token,
                            sent: false,
                        };
                        let a = authenticate(client, "XOAUTH2", auth, host, limit).await?;
                        if matches!(a, Attempt::Failed(..)) && config.access_token.is_none() {
                            oauth2::forget(&repo.common.name).await;
                        }
                        a
                    }
                    Err(e) => Attempt::Failed(client, e.to_string()),
                }
            }
            AuthMechanism::CramMd5 => match password() {
                Ok(p) => {
                    let auth = CramMd5 { user, password: p };
                    authenticate(client, "CRAM-MD5", auth, host, limit).await?
                }
                Err(()) => {
                    no_password.push(mech.name());
                    continue;
                }
            },
            AuthMechanism::Plain => match password() {
                Ok(p) => {
                    let mut auth = PlainAuth {
                        authzid: identity.unwrap_or(""),
                        user,
                        password: p.expose(),
                    };
                    if has_cap(caps, "SASL-IR") {
                        // RFC 4959: the credentials go with the command,
                        // without waiting for the server's go-ahead (one
                        // round trip less). The `-d imap` trace hides them
                        // there too.
                        let initial = openssl::base64::encode_block(&auth.process(&[]));
                        let command = format!("PLAIN {initial}");
                        authenticate(client, &command, auth, host, limit).await?
                    } else {
                        authenticate(client, "PLAIN", auth, host, limit).await?
                    }
                }
                Err(()) => {
                    no_password.push(mech.name());
                    continue;
                }
            },
            AuthMechanism::Login => match password() {
                Ok(p) if !has_cap(caps, "LOGINDISABLED") => {
                    match tokio::time::timeout(limit, client.login(user, p.expose()))
                        .await
                        .map_err(|_| timed_out(host, limit))?
                    {
                        Ok(session) => Attempt::Done(session),
                        Err((e, client)) => Attempt::Failed(client, refusal(e, host)?),
                    }
                }
                Ok(p) => {
                    let auth = LoginAuth {
                        user,
                        password: p.expose(),
                        step: 0,
                    };
                    authenticate(client, "LOGIN", auth, host, limit).await?
                }
                Err(()) => {
                    no_password.push(mech.name());
                    continue;
                }
            },
        };
        match attempt {
            Attempt::Done(session) => {
                // As OfflineIMAP warns "X authentication failed" even when a
                // later mechanism gets in: the user may want to fix it.
                warnings.extend(failures.iter().map(|(failed, why)| {
                    format!(
                        "{host}: {failed} failed for user {user}: {}; logged in with {}",
                        why.trim_end_matches('.'),
                        mech.name()
                    )
                }));
                return Ok(Authenticated { session, warnings });
            }
            Attempt::Failed(back, why) => {
                failures.push((mech.name(), why));
                client = back;
            }
        }
    }
    let mut reasons: Vec<String> = Vec::new();
    if repo.oauth2.is_some()
        && identity.is_none()
        && repo.auth_mechanisms.contains(&AuthMechanism::XOAuth2)
        && !offered(AuthMechanism::XOAuth2)
    {
        // The token is configured, so its absence from the list is news.
        reasons.push(format!(
            "XOAUTH2: not offered by the server ({})",
            offered_list(caps)
        ));
    }
    reasons.extend(
        failures
            .iter()
            .map(|(failed, why)| format!("{failed}: {why}")),
    );
    if !no_password.is_empty() {
        reasons.push(format!(
            "{}: no password configured for user {user}",
            no_password.join(", ")
        ));
    }
    if reasons.is_empty() {
        let listed: Vec<&str> = repo.auth_mechanisms.iter().map(|m| m.name()).collect();
        let oauth_note = if repo.oauth2.is_none()
            && repo.auth_mechanisms.contains(&AuthMechanism::XOAuth2)
            && offered(AuthMechanism::XOAuth2)
        {
            " (XOAUTH2 needs oauth2_access_token or oauth2_refresh_token)"
        } else {
            ""
        };
        return Err(err(ErrorKind::Unsupported(format!(
            "no usable authentication mechanism: configured {}{oauth_note}; server offers {}",
            listed.join(", "),
            offered_list(caps)
        ))));
    }
    Err(err(ErrorKind::Login {
        user: user.to_owned(),
        text: reasons.join("; "),
    }))
}

/// The server's `AUTH=` mechanisms, for messages.
fn offered_list(caps: &[String]) -> String {
    let list: Vec<&str> = caps
        .iter()
        .filter_map(|c| {
            c.get(..5)
                .filter(|p| p.eq_ignore_ascii_case("AUTH="))
                .map(|_| &c[5..])
        })
        .collect();
    if list.is_empty() {
        "no AUTH= mechanism".to_owned()
    } else {
        list.join(", ")
    }
}

fn timed_out(host: &str, limit: Duration) -> Error {
    Error::new(host, "LOGIN", ErrorKind::Timeout(limit.as_secs()))
}

async fn authenticate<A: Authenticator>(
    client: Client<ImapStream>,
    mechanism: &str,
    auth: A,
    host: &str,
    limit: Duration,
) -> Result<Attempt, Error> {
    match tokio::time::timeout(limit, client.authenticate(mechanism, auth))
        .await
        .map_err(|_| timed_out(host, limit))?
    {
        Ok(session) => Ok(Attempt::Done(session)),
        Err((e, client)) => Ok(Attempt::Failed(client, refusal(e, host)?)),
    }
}

/// The server's reason for a refused login; a broken connection is an
/// error of its own (nothing more can be tried on it).
fn refusal(e: async_imap::error::Error, host: &str) -> Result<String, Error> {
    use async_imap::error::Error as E;
    let kind = match e {
        E::No(_) | E::Bad(_) => return Ok(wire::server_text(&e)),
        // Validation errors would echo the offending input; keep the
        // password out of it.
        E::Validate(_) => {
            return Ok("user name or password contains a character IMAP cannot send".into());
        }
        E::Io(io) => ErrorKind::Io(io),
        E::ConnectionLost => ErrorKind::ConnectionLost(None),
        other => ErrorKind::Protocol(other.to_string()),
    };
    Err(Error::new(host, "LOGIN", kind))
}

/// SASL PLAIN (RFC 4616): authzid NUL authcid NUL passwd. The authzid is
/// `remote_identity`, empty when unset.
struct PlainAuth<'a> {
    authzid: &'a str,
    user: &'a str,
    password: &'a str,
}

impl Authenticator for PlainAuth<'_> {
    type Response = Vec<u8>;

    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        let mut r =
            Vec::with_capacity(self.authzid.len() + self.user.len() + self.password.len() + 2);
        r.extend_from_slice(self.authzid.as_bytes());
        r.push(0);
        r.extend_from_slice(self.user.as_bytes());
        r.push(0);
        r.extend_from_slice(self.password.as_bytes());
        r
    }
}

/// The SASL LOGIN mechanism: user name, then password, one per challenge.
struct LoginAuth<'a> {
    user: &'a str,
    password: &'a str,
    step: u8,
}

impl Authenticator for LoginAuth<'_> {
    type Response = Vec<u8>;

    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        self.step = self.step.saturating_add(1);
        match self.step {
            1 => self.user.as_bytes().to_vec(),
            2 => self.password.as_bytes().to_vec(),
            _ => Vec::new(),
        }
    }
}

/// XOAUTH2 (Google's, also Microsoft's and Dovecot's): one message
/// `user=U ^A auth=Bearer T ^A ^A`. A refusal comes as a challenge
/// carrying an error JSON, which must be answered with an empty line
/// before the tagged NO.
struct XOAuth2<'a> {
    user: &'a str,
    token: &'a Secret,
    sent: bool,
}

impl Authenticator for XOAuth2<'_> {
    type Response = Vec<u8>;

    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        if std::mem::replace(&mut self.sent, true) {
            return Vec::new();
        }
        format!(
            "user={}\x01auth=Bearer {}\x01\x01",
            self.user,
            self.token.expose()
        )
        .into_bytes()
    }
}

/// CRAM-MD5 (RFC 2195): the user name and the hex HMAC-MD5 of the
/// server's challenge keyed with the password.
struct CramMd5<'a> {
    user: &'a str,
    password: &'a Secret,
}

impl Authenticator for CramMd5<'_> {
    type Response = Vec<u8>;

    fn process(&mut self, challenge: &[u8]) -> Vec<u8> {
        let mac = hmac_md5(self.password.expose().as_bytes(), challenge);
        let mut r = format!("{} ", self.user);
        for b in mac {
            r.push_str(&format!("{b:02x}"));
        }
        r.into_bytes()
    }
}

/// HMAC (RFC 2104) over MD5; small enough not to need a crate for.
fn hmac_md5(key: &[u8], message: &[u8]) -> [u8; 16] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..16].copy_from_slice(&Md5::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Md5::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Md5::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn plain_authenticator_builds_rfc4616_message() {
        let mut a = PlainAuth {
            authzid: "",
            user: "bob",
            password: "pw",
        };
        assert_eq!(a.process(b""), b"\0bob\0pw");
        let mut a = PlainAuth {
            authzid: "alice",
            user: "admin",
            password: "pw",
        };
        assert_eq!(a.process(b""), b"alice\0admin\0pw");
    }

    #[test]
    fn login_authenticator_answers_user_then_password() {
        let mut a = LoginAuth {
            user: "bob",
            password: "pw",
            step: 0,
        };
        assert_eq!(a.process(b"Username:"), b"bob");
        assert_eq!(a.process(b"Password:"), b"pw");
        assert_eq!(a.process(b"?"), b"");
    }

    #[test]
    fn xoauth2_sends_the_token_once_then_answers_the_error_empty() {
        let token = Secret::new("ya29.tok");
        let mut a = XOAuth2 {
            user: "bob@example.org",
            token: &token,
            sent: false,
        };
        assert_eq!(
            a.process(b""),
            b"user=bob@example.org\x01auth=Bearer ya29.tok\x01\x01"
        );
        assert_eq!(a.process(br#"{"status":"401"}"#), b"");
    }

    #[test]
    fn hmac_md5_matches_rfc2104_vectors() {
        let hex = |b: [u8; 16]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        assert_eq!(
            hex(hmac_md5(&[0x0b; 16], b"Hi There")),
            "9294727a3638bb1c13f48ef8158bfc9d"
        );
        assert_eq!(
            hex(hmac_md5(b"Jefe", b"what do ya want for nothing?")),
            "750c783e6ab0b503eaa86e310a5db738"
        );
        // RFC 2202 case 6: a key longer than the block is hashed first.
        assert_eq!(
            hex(hmac_md5(
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"
        );
    }

    #[test]
    fn cram_md5_answers_rfc2195_example() {
        let pw = Secret::new("tanstaaftanstaaf");
        let mut a = CramMd5 {
            user: "tim",
            password: &pw,
        };
        assert_eq!(
            a.process(b"<1896.697170952@postoffice.reston.mci.net>"),
            b"tim b913a602c7eda7a495b4e6e7334d3890"
        );
    }

    #[test]
    fn offered_mechanisms_are_listed_for_messages() {
        let caps: Vec<String> = ["IMAP4rev1", "AUTH=PLAIN", "auth=XOAUTH2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(offered_list(&caps), "PLAIN, XOAUTH2");
        assert_eq!(offered_list(&[]), "no AUTH= mechanism");
    }
}
