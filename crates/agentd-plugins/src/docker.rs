//! The `docker` host functions: the Docker Engine API over its Unix socket
//! (`[plugins.docker] socket`, default `/var/run/docker.sock`), read-only —
//! `docker.containers {all?}` (`GET /containers/json`) and `docker.images`
//! (`GET /images/json`).
//!
//! One HTTP/1.0 request per call (the Engine then answers with a plain
//! body and closes: no chunked encoding), its head parsed by `httparse`,
//! bounded by the call's deadline and [`MAX_ANSWER`] bytes.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;

/// Largest answer read (head and body), bytes.
pub const MAX_ANSWER: u64 = 1024 * 1024;

/// The Engine's socket.
#[derive(Debug, Clone)]
pub struct Docker {
    socket: PathBuf,
}

impl Default for Docker {
    fn default() -> Docker {
        Docker::new("/var/run/docker.sock")
    }
}

impl Docker {
    /// The Engine at `socket`.
    pub fn new(socket: impl AsRef<Path>) -> Docker {
        Docker {
            socket: socket.as_ref().to_path_buf(),
        }
    }

    /// Runs `docker.containers` or `docker.images`.
    ///
    /// # Errors
    /// No Engine at the socket, a refusal (its message), an answer too big
    /// or not JSON, the deadline.
    pub fn call(&self, f: &str, args: &Value, deadline: Instant) -> Result<Value, String> {
        let path = match f {
            "docker.containers" => {
                if args.get("all").and_then(Value::as_bool) == Some(true) {
                    "/containers/json?all=1"
                } else {
                    "/containers/json"
                }
            }
            "docker.images" => "/images/json",
            _ => {
                return Err(format!(
                    "no host function `{f}`: there are docker.containers, docker.images"
                ));
            }
        };
        let (status, body) = self.get(path, deadline)?;
        let v = serde_json::from_slice::<Value>(&body);
        if !(200..300).contains(&status) {
            let why = match &v {
                Ok(v) => v
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                Err(_) => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
            };
            return Err(format!("the Docker Engine answered {status}: {why}"));
        }
        v.map_err(|e| format!("the Docker Engine's answer is not JSON: {e}"))
    }

    fn get(&self, path: &str, deadline: Instant) -> Result<(u16, Vec<u8>), String> {
        let left = || {
            deadline
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())
                .ok_or_else(|| "the call's deadline has passed".to_owned())
        };
        let mut s = UnixStream::connect(&self.socket).map_err(|e| {
            format!(
                "no Docker Engine at {} ({e}); set [plugins.docker] socket in agentd.toml",
                self.socket.display()
            )
        })?;
        s.set_write_timeout(Some(left()?))
            .map_err(|e| e.to_string())?;
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n").as_bytes())
            .map_err(|e| format!("writing to the Docker Engine: {e}"))?;
        let mut raw = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            s.set_read_timeout(Some(left()?))
                .map_err(|e| e.to_string())?;
            match s.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => raw.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("reading the Docker Engine's answer: {e}")),
            }
            if raw.len() as u64 > MAX_ANSWER {
                return Err(format!(
                    "the Docker Engine's answer is over {MAX_ANSWER} bytes"
                ));
            }
        }
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut resp = httparse::Response::new(&mut headers);
        let head = match resp.parse(&raw) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => {
                return Err("the Docker Engine's answer ended early".to_owned());
            }
            Err(e) => return Err(format!("the Docker Engine's answer is not HTTP: {e}")),
        };
        if resp.headers.iter().any(|h| {
            h.name.eq_ignore_ascii_case("transfer-encoding")
                && !h.value.eq_ignore_ascii_case(b"identity")
        }) {
            return Err(
                "the Docker Engine answered in a transfer encoding agentd does not read".into(),
            );
        }
        let status = resp.code.unwrap_or(0);
        Ok((status, raw[head..].to_vec()))
    }
}

/// A fake Docker Engine on a Unix socket, for tests: answers every request
/// with `status` and `body`, and keeps the request lines it got.
pub mod fake {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::UnixListener;
    use std::path::Path;
    use std::sync::{Arc, Mutex};

    /// Serves on `socket` from a thread until the process ends; the request
    /// lines it got.
    ///
    /// # Errors
    /// When the socket cannot be bound.
    pub fn serve(
        socket: &Path,
        status: u16,
        body: String,
    ) -> std::io::Result<Arc<Mutex<Vec<String>>>> {
        let listener = UnixListener::bind(socket)?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let got = Arc::clone(&seen);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let mut reader = BufReader::new(&conn);
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                // The rest of the head.
                let mut rest = String::new();
                while reader.read_line(&mut rest).is_ok_and(|n| n > 2) {
                    rest.clear();
                }
                if let Ok(mut g) = got.lock() {
                    g.push(line.trim_end().to_owned());
                }
                let mut w = &conn;
                let _ = write!(
                    w,
                    "HTTP/1.0 {status} X\r\nContent-Type: application/json\r\n\r\n{body}"
                );
            }
        });
        Ok(seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containers_and_images_are_read_from_the_engines_socket() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("docker.sock");
        let seen = fake::serve(
            &sock,
            200,
            r#"[{"Id":"c1","Names":["/db"],"State":"running"}]"#.into(),
        )
        .unwrap();
        let d = Docker::new(&sock);
        let soon = || Instant::now() + std::time::Duration::from_secs(5);
        let v = d
            .call("docker.containers", &json!({"all": true}), soon())
            .unwrap();
        assert_eq!(v[0]["Names"][0], "/db");
        d.call("docker.images", &json!({}), soon()).unwrap();
        assert_eq!(
            *seen.lock().unwrap(),
            [
                "GET /containers/json?all=1 HTTP/1.0",
                "GET /images/json HTTP/1.0"
            ]
        );
        assert!(d.call("docker.rm", &json!({}), soon()).is_err());
        let e = Docker::new(dir.path().join("none.sock"))
            .call("docker.images", &json!({}), soon())
            .unwrap_err();
        assert!(e.contains("[plugins.docker] socket"), "{e}");
    }

    #[test]
    fn an_engine_error_is_reported_with_its_message() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("docker.sock");
        fake::serve(&sock, 500, r#"{"message":"engine broke"}"#.into()).unwrap();
        let e = Docker::new(&sock)
            .call(
                "docker.images",
                &json!({}),
                Instant::now() + std::time::Duration::from_secs(5),
            )
            .unwrap_err();
        assert!(e.contains("500") && e.contains("engine broke"), "{e}");
    }
}
