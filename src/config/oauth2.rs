//! OAuth2 access tokens for the XOAUTH2 login (asked for by `imap`'s
//! login, kept here beside the other credential sources, keyring and
//! netrc): the configured static
//! token, or one traded for the refresh token at the token endpoint
//! (RFC 6749 §6) and kept for the rest of the run until half its
//! lifetime has passed, so that every connection of a run does not make
//! its own request.
//!
//! The request goes through `ureq` over native-tls: the same OpenSSL and
//! system CAs that verify the IMAP server verify the token endpoint. The
//! account's `authproxy` (`TYPE:HOST:PORT`) is honoured; without it the
//! usual `https_proxy`/`NO_PROXY` variables are, as Python's urllib does
//! for OfflineIMAP. Tokens, the refresh token and the client secret are
//! [`Secret`]s: no error or log line shows them.

use std::time::{Duration, Instant};

use super::{OAuth2, Secret};
use crate::pyeval::json::{self, Json};

/// Why no access token could be had.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("oauth2_request_url is not set, so oauth2_refresh_token cannot be used")]
    NoRequestUrl,
    #[error("OAuth2 token request to {url} failed: {why}")]
    Request { url: String, why: String },
    #[error("OAuth2 token endpoint {url} refused the refresh token: {why}")]
    Refused { url: String, why: String },
    #[error("OAuth2 token endpoint {url} gave an answer without a usable access_token: {why}")]
    Answer { url: String, why: String },
}

/// A token got from the endpoint, for the repository that asked.
struct Cached {
    repository: String,
    refresh_token: Secret,
    token: Secret,
    /// `None`: the answer had no `expires_in`; good for the whole run.
    renew_at: Option<Instant>,
}

/// Tokens of this run. Held across the request, so connections opened
/// together wait for the first one's token instead of each asking.
static CACHE: tokio::sync::Mutex<Vec<Cached>> = tokio::sync::Mutex::const_new(Vec::new());

/// The access token for a login of `repository`: the static one when
/// configured, else the cached one while it is fresh, else a new one from
/// the endpoint. `limit` bounds the whole request.
pub async fn access_token(
    repository: &str,
    config: &OAuth2,
    limit: Duration,
) -> Result<Secret, Error> {
    if let Some(t) = &config.access_token {
        return Ok(t.clone());
    }
    let Some(refresh_token) = config.refresh_token.clone() else {
        // The reader makes no OAuth2 without one of the two tokens.
        return Err(Error::NoRequestUrl);
    };
    let mut cache = CACHE.lock().await;
    let now = Instant::now();
    cache.retain(|c| c.renew_at.is_none_or(|at| at > now));
    if let Some(c) = cache
        .iter()
        .find(|c| c.repository == repository && c.refresh_token == refresh_token)
    {
        return Ok(c.token.clone());
    }
    let request = config.clone();
    let (token, lifetime) = tokio::task::spawn_blocking(move || fetch(&request, limit))
        .await
        .map_err(|e| Error::Request {
            url: config.request_url.clone().unwrap_or_default(),
            why: e.to_string(),
        })??;
    cache.push(Cached {
        repository: repository.to_owned(),
        refresh_token,
        token: token.clone(),
        renew_at: lifetime.map(|l| now + l / 2),
    });
    Ok(token)
}

/// Drops the cached token of `repository` (the server refused it), so the
/// next login asks for a new one.
pub async fn forget(repository: &str) {
    CACHE.lock().await.retain(|c| c.repository != repository);
}

/// POSTs the refresh grant; the new token and its lifetime.
fn fetch(config: &OAuth2, limit: Duration) -> Result<(Secret, Option<Duration>), Error> {
    let url = config.request_url.clone().ok_or(Error::NoRequestUrl)?;
    let request_failed = |why: String| Error::Request {
        url: url.clone(),
        why,
    };
    let proxy = match &config.proxy {
        Some(spec) => {
            let p = proxy_url(spec).map_err(&request_failed)?;
            Some(ureq::Proxy::new(&p).map_err(|e| request_failed(format!("authproxy: {e}")))?)
        }
        None => ureq::Proxy::try_from_env(),
    };
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::NativeTls)
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .proxy(proxy)
        .timeout_global(Some(limit))
        // An error answer's JSON says why; read it like any other.
        .http_status_as_error(false)
        .build()
        .into();
    let mut form: Vec<(&str, &str)> = vec![("grant_type", "refresh_token")];
    if let Some(id) = &config.client_id {
        form.push(("client_id", id.expose()));
    }
    if let Some(secret) = &config.client_secret {
        form.push(("client_secret", secret.expose()));
    }
    if let Some(token) = &config.refresh_token {
        form.push(("refresh_token", token.expose()));
    }
    // ureq's errors name the URL and what failed, never the form.
    let mut response = agent
        .post(&url)
        .send_form(form)
        .map_err(|e| request_failed(e.to_string()))?;
    let status = response.status();
    let body = response
        .body_mut()
        .with_config()
        .limit(1 << 20)
        .read_to_string()
        .map_err(|e| request_failed(format!("reading the answer: {e}")))?;
    let answer = parse_answer(&body);
    if !status.is_success() {
        let why = match answer {
            Err(AnswerError::Refused(why)) => why,
            _ => format!("HTTP status {}", status.as_u16()),
        };
        return Err(Error::Refused { url, why });
    }
    answer.map_err(|e| match e {
        AnswerError::Refused(why) => Error::Refused {
            url: url.clone(),
            why,
        },
        AnswerError::Unusable(why) => Error::Answer {
            url: url.clone(),
            why,
        },
    })
}

#[derive(Debug, PartialEq)]
enum AnswerError {
    /// The endpoint said `error` (with its `error_description`).
    Refused(String),
    Unusable(String),
}

/// Reads a token endpoint's JSON answer. Only the `error` fields are ever
/// quoted, never the rest (it holds the token).
fn parse_answer(body: &str) -> Result<(Secret, Option<Duration>), AnswerError> {
    let Ok(Json::Object(fields)) = json::decode(body.trim()) else {
        return Err(AnswerError::Unusable("not a JSON object".into()));
    };
    if let Some(error) = fields.get("error") {
        let mut why = match error {
            Json::Str(s) => s.clone(),
            _ => "error".to_owned(),
        };
        if let Some(Json::Str(d)) = fields.get("error_description") {
            why = format!("{why} ({d})");
        }
        return Err(AnswerError::Refused(one_line(&why)));
    }
    let token = match fields.get("access_token") {
        Some(Json::Str(t)) if !t.is_empty() => Secret::new(t.clone()),
        Some(_) => return Err(AnswerError::Unusable("access_token is not a string".into())),
        None => return Err(AnswerError::Unusable("no access_token".into())),
    };
    let lifetime = match fields.get("expires_in") {
        Some(Json::Int(n)) if *n > 0 => Some(Duration::from_secs(n.unsigned_abs())),
        Some(Json::Float(f)) if f.is_finite() && *f > 0.0 => Some(Duration::from_secs_f64(*f)),
        Some(Json::Str(s)) => s.trim().parse::<u64>().ok().map(Duration::from_secs),
        _ => None,
    };
    Ok((token, lifetime))
}

fn one_line(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    s.chars().take(300).collect()
}

/// `authproxy`'s `TYPE:HOST:PORT` (TYPE `SOCKS5`, `SOCKS4` or `HTTP`,
/// any case) as a proxy URL.
pub fn proxy_url(spec: &str) -> Result<String, String> {
    let bad = || format!("expected TYPE:HOST:PORT with TYPE SOCKS5, SOCKS4 or HTTP, got '{spec}'");
    let (kind, rest) = spec.trim().split_once(':').ok_or_else(bad)?;
    let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim();
    if host.is_empty() || port.trim().parse::<u16>().is_err() {
        return Err(bad());
    }
    let scheme = match kind.trim().to_ascii_uppercase().as_str() {
        "SOCKS5" => "socks5",
        "SOCKS4" => "socks4",
        "HTTP" => "http",
        _ => return Err(bad()),
    };
    Ok(format!("{scheme}://{host}:{}", port.trim()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn answer_gives_token_and_lifetime() {
        let (t, l) =
            parse_answer(r#"{"access_token": "abc", "expires_in": 3600, "token_type": "Bearer"}"#)
                .unwrap();
        assert_eq!(t.expose(), "abc");
        assert_eq!(l, Some(Duration::from_secs(3600)));
        let (_, l) = parse_answer(r#"{"access_token": "abc"}"#).unwrap();
        assert_eq!(l, None);
    }

    #[test]
    fn error_answer_quotes_only_the_error_fields() {
        let e = parse_answer(
            r#"{"error": "invalid_grant", "error_description": "Bad Request", "refresh_token": "SECRET"}"#,
        )
        .unwrap_err();
        assert_eq!(
            e,
            AnswerError::Refused("invalid_grant (Bad Request)".into())
        );
        let e = parse_answer("<html>SECRET</html>").unwrap_err();
        assert_eq!(e, AnswerError::Unusable("not a JSON object".into()));
        let e = parse_answer(r#"{"token": "SECRET"}"#).unwrap_err();
        assert_eq!(e, AnswerError::Unusable("no access_token".into()));
    }

    #[test]
    fn authproxy_spec_becomes_a_url() {
        assert_eq!(
            proxy_url("SOCKS5:localhost:9050").unwrap(),
            "socks5://localhost:9050"
        );
        assert_eq!(proxy_url("http:proxy:3128").unwrap(), "http://proxy:3128");
        assert_eq!(proxy_url("socks4:h:1080").unwrap(), "socks4://h:1080");
        assert!(proxy_url("FTP:h:1").is_err());
        assert!(proxy_url("SOCKS5:h").is_err());
        assert!(proxy_url("SOCKS5::1").is_err());
        assert!(proxy_url("SOCKS5:h:notaport").is_err());
    }

    #[tokio::test]
    async fn static_token_needs_no_request() {
        let config = OAuth2 {
            access_token: Some(Secret::new("static")),
            refresh_token: Some(Secret::new("r")),
            ..OAuth2::default()
        };
        let t = access_token("R", &config, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(t.expose(), "static");
    }
}
