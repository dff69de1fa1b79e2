//! The `http` and `github` host functions: HTTP to the hosts the user
//! allows (`[plugins.http] allow`), and GitHub's REST API with the token
//! the user configures (`[plugins.github]`; its base URL configurable, so
//! a GitHub Enterprise server or a local fake works too).
//!
//! Every request is bounded by the plugin call's deadline and answers at
//! most [`MAX_BODY`] bytes of body; an HTTP error status is an answer
//! (`{"status": 404, …}`), not a failure, and so is a redirect: it is
//! never followed (its `location` is in the answer), so nothing outside
//! the allow-list is ever reached.

use std::io::Read;
use std::time::Instant;

use serde_json::{Value, json};

/// Largest response body handed to a plugin, bytes.
pub const MAX_BODY: u64 = 64 * 1024;
/// Largest request body a plugin may send, bytes.
const MAX_SEND: usize = 64 * 1024;

/// Where plugins may go, and with what.
#[derive(Debug, Clone, Default)]
pub struct NetConfig {
    /// Hosts (`example.com`) or host:port pairs (`127.0.0.1:8080`) the
    /// `http` capability may reach; nothing else.
    pub http_allow: Vec<String>,
    /// GitHub's REST API base (`https://api.github.com`).
    pub github_api: String,
    /// The token GitHub requests carry (`Authorization: Bearer …`); none:
    /// the `github` functions refuse, saying where to set it.
    pub github_token: Option<String>,
}

/// One HTTP client, shared by every call (connections are pooled).
pub struct Net {
    config: NetConfig,
    agent: ureq::Agent,
}

/// An answer: status and body (JSON when it parses, else text).
fn answer(status: u16, body: &[u8], truncated: bool) -> Value {
    let text = String::from_utf8_lossy(body);
    let body = serde_json::from_str::<Value>(&text).unwrap_or_else(|_| json!(text));
    json!({"status": status, "body": body, "truncated": truncated})
}

impl Net {
    /// A client for `config`.
    pub fn new(config: NetConfig) -> Net {
        // Redirects are answers, never followed: a followed Location would
        // reach hosts the allow-list never saw (and carry the plugin's
        // headers, or GitHub's token, there).
        let agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .user_agent(concat!("agentd-plugins/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Net { config, agent }
    }

    /// Whether `url` is http(s) to an allowed host (by name, or name:port).
    pub fn allowed(&self, url: &str) -> Result<(), String> {
        let uri: ureq::http::Uri = url
            .parse()
            .map_err(|e| format!("`{url}` is not a URL: {e}"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(format!("`{url}`: only http and https"));
        }
        let host = uri.host().unwrap_or_default().to_ascii_lowercase();
        let with_port = uri.port_u16().map(|p| format!("{host}:{p}"));
        let ok = self.config.http_allow.iter().any(|a| {
            let a = a.to_ascii_lowercase();
            a == host || Some(&a) == with_port.as_ref()
        });
        if ok {
            Ok(())
        } else {
            Err(format!(
                "`{}` is not allowed: add it to agentd.toml, [plugins.http] allow = [\"{}\"]",
                with_port.as_deref().unwrap_or(&host),
                with_port.as_deref().unwrap_or(&host)
            ))
        }
    }

    /// Sends one request and reads at most [`MAX_BODY`] of the answer.
    fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<&[u8]>,
        deadline: Instant,
    ) -> Result<Value, String> {
        let left = deadline
            .checked_duration_since(Instant::now())
            .ok_or("the call's deadline has passed")?;
        let mut req = ureq::http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req
            .body(body.map(<[u8]>::to_vec).unwrap_or_default())
            .map_err(|e| format!("bad request: {e}"))?;
        let req = self
            .agent
            .configure_request(req)
            .timeout_global(Some(left))
            .build();
        let resp = self
            .agent
            .run(req)
            .map_err(|e| format!("{method} {url}: {e}"))?;
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut bytes = Vec::new();
        resp.into_body()
            .into_reader()
            .take(MAX_BODY + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{method} {url}: reading the answer: {e}"))?;
        let truncated = bytes.len() as u64 > MAX_BODY;
        bytes.truncate(MAX_BODY as usize);
        let mut v = answer(status, &bytes, truncated);
        if let Some(l) = location {
            v["location"] = json!(l);
        }
        Ok(v)
    }

    /// `http.get {url, headers?}`, `http.post {url, body, content_type?,
    /// headers?}`.
    pub fn http(&self, f: &str, args: &Value, deadline: Instant) -> Result<Value, String> {
        let url = args
            .get("url")
            .and_then(Value::as_str)
            .ok_or("`url` is required")?;
        self.allowed(url)?;
        let mut headers: Vec<(String, String)> = args
            .get("headers")
            .and_then(Value::as_object)
            .map(|h| {
                h.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        match f {
            "http.get" => self.send("GET", url, &headers, None, deadline),
            "http.post" => {
                let body = match args.get("body") {
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                    None => String::new(),
                };
                if body.len() > MAX_SEND {
                    return Err(format!("the body is over {MAX_SEND} bytes"));
                }
                let ty = args
                    .get("content_type")
                    .and_then(Value::as_str)
                    .unwrap_or("application/json");
                headers.push(("content-type".into(), ty.into()));
                self.send("POST", url, &headers, Some(body.as_bytes()), deadline)
            }
            _ => Err(format!(
                "no host function `{f}`: there are http.get, http.post"
            )),
        }
    }

    /// `github.get {path}` (`/repos/o/r/pulls?state=open`) and
    /// `github.comment {repo: "owner/name", issue, body}`.
    pub fn github(&self, f: &str, args: &Value, deadline: Instant) -> Result<Value, String> {
        let token = self
            .config
            .github_token
            .as_deref()
            .ok_or("no GitHub token: set it in agentd.toml, [plugins.github] token = \"…\"")?;
        let base = self.config.github_api.trim_end_matches('/');
        let headers = vec![
            ("authorization".to_owned(), format!("Bearer {token}")),
            (
                "accept".to_owned(),
                "application/vnd.github+json".to_owned(),
            ),
            ("x-github-api-version".to_owned(), "2022-11-28".to_owned()),
        ];
        match f {
            "github.get" => {
                let path = args
                    .get("path")
                    .and_then(Value::as_str)
                    .filter(|p| p.starts_with('/') && !p.contains("://"))
                    .ok_or("`path` is required and starts with / (`/repos/owner/name`)")?;
                self.send("GET", &format!("{base}{path}"), &headers, None, deadline)
            }
            "github.comment" => {
                let repo = args
                    .get("repo")
                    .and_then(Value::as_str)
                    .filter(|r| valid_repo(r))
                    .ok_or("`repo` is required, as owner/name")?;
                let issue = args
                    .get("issue")
                    .and_then(Value::as_u64)
                    .ok_or("`issue` is required: the issue or pull request number")?;
                let body = args
                    .get("body")
                    .and_then(Value::as_str)
                    .filter(|b| !b.is_empty() && b.len() <= MAX_SEND)
                    .ok_or("`body` is required (at most 64 KiB)")?;
                let mut headers = headers;
                headers.push(("content-type".into(), "application/json".into()));
                let payload = json!({ "body": body }).to_string();
                self.send(
                    "POST",
                    &format!("{base}/repos/{repo}/issues/{issue}/comments"),
                    &headers,
                    Some(payload.as_bytes()),
                    deadline,
                )
            }
            _ => Err(format!(
                "no host function `{f}`: there are github.get, github.comment"
            )),
        }
    }
}

/// `owner/name` with GitHub's characters only (no path tricks).
fn valid_repo(r: &str) -> bool {
    let mut parts = r.split('/');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| {
            !p.is_empty()
                && p != "."
                && p != ".."
                && p.len() <= 100
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(allow: &[&str]) -> Net {
        Net::new(NetConfig {
            http_allow: allow.iter().map(|s| (*s).to_owned()).collect(),
            github_api: "http://127.0.0.1:9".into(),
            github_token: None,
        })
    }

    #[test]
    fn only_allowed_hosts_and_http_schemes() {
        let n = net(&["api.example.com", "127.0.0.1:8080"]);
        assert!(n.allowed("https://api.example.com/x").is_ok());
        // Names are case-insensitive; a name alone allows any port.
        assert!(n.allowed("https://API.example.com:8443/x").is_ok());
        assert!(n.allowed("http://127.0.0.1:8080/hook").is_ok());
        assert!(n.allowed("http://127.0.0.1:8081/hook").is_err());
        assert!(n.allowed("http://127.0.0.1/hook").is_err());
        assert!(
            n.allowed("https://evil.example.com@api.example.com.evil.net/")
                .is_err()
        );
        assert!(n.allowed("file:///etc/passwd").is_err());
        assert!(n.allowed("not a url").is_err());
        let e = n.allowed("https://other.example.org/").unwrap_err();
        assert!(e.contains("[plugins.http] allow"), "{e}");
    }

    /// A one-request-per-connection HTTP server on 127.0.0.1 answering
    /// `reply`; counts the requests it got.
    fn server(reply: &'static str) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{BufRead, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = std::sync::Arc::clone(&n);
        std::thread::spawn(move || {
            for c in l.incoming().flatten() {
                let mut r = std::io::BufReader::new(&c);
                let mut line = String::new();
                while r.read_line(&mut line).is_ok_and(|k| k > 2) {
                    line.clear();
                }
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = (&c).write_all(reply.as_bytes());
            }
        });
        (addr, n)
    }

    #[test]
    fn a_redirect_is_an_answer_never_followed_off_the_allow_list() {
        let (inside, _) =
            server("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        let (outside, reached) =
            server("HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\nsecret");
        let reply: &'static str = Box::leak(
            format!(
                "HTTP/1.1 302 Found\r\nlocation: http://{outside}/x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
            .into_boxed_str(),
        );
        let (redirector, _) = server(reply);
        let n = net(&[&inside, &redirector]);
        let later = || Instant::now() + std::time::Duration::from_secs(5);
        let ok = n
            .http(
                "http.get",
                &json!({"url": format!("http://{inside}/")}),
                later(),
            )
            .unwrap();
        assert_eq!(
            (ok["status"].as_u64(), ok["body"].as_str()),
            (Some(200), Some("ok"))
        );
        let v = n
            .http(
                "http.get",
                &json!({"url": format!("http://{redirector}/")}),
                later(),
            )
            .unwrap();
        assert_eq!(v["status"], 302, "{v}");
        assert_eq!(v["location"], format!("http://{outside}/x"), "{v}");
        assert_eq!(reached.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[test]
    fn github_needs_a_token_and_a_real_repo() {
        let n = net(&[]);
        let later = Instant::now() + std::time::Duration::from_secs(1);
        let e = n
            .github("github.get", &json!({"path": "/user"}), later)
            .unwrap_err();
        assert!(e.contains("[plugins.github] token"), "{e}");
        assert!(valid_repo("rust-lang/rust"));
        for bad in ["rust-lang", "a/b/c", "../x", "a/..", "a b/c", "a/c?x=1", ""] {
            assert!(!valid_repo(bad), "{bad}");
        }
    }
}
