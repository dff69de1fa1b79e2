//! A blocking JSON-RPC client over the daemon's Unix socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use agentd_proto::api::{InitializeParams, InitializeResult};
use agentd_proto::{MAX_FRAME_BYTES, PROTOCOL_VERSION, Request, Response, RpcError, method};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A client failure.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens on the socket (no file, or connection refused).
    #[error(
        "agentd is not running (no daemon at {0}); start it with `agentd start` or `agentd serve`"
    )]
    NotRunning(PathBuf),
    /// The daemon did not answer in time.
    #[error("agentd did not answer within {0:?}")]
    Timeout(Duration),
    /// The daemon closed the connection.
    #[error("agentd closed the connection")]
    Closed,
    /// Another I/O failure.
    #[error("talking to agentd failed: {0}")]
    Io(#[from] std::io::Error),
    /// The daemon answered with a JSON-RPC error.
    #[error("agentd: {0}")]
    Rpc(#[from] RpcError),
    /// The daemon's answer made no sense.
    #[error("unexpected answer from agentd: {0}")]
    Protocol(String),
}

/// A message from the daemon: a response or a notification.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A response to request `id`.
    Response(Response),
    /// A notification: method and params.
    Notification(String, Value),
}

/// An initialized connection.
pub struct Client {
    writer: UnixStream,
    reader: BufReader<UnixStream>,
    next_id: u64,
    timeout: Duration,
}

impl Client {
    /// Connects to `socket`, with `timeout` for every read and write, and
    /// performs the `initialize` handshake.
    ///
    /// # Errors
    /// [`ClientError::NotRunning`] when nothing listens; the handshake's error
    /// otherwise (e.g. an incompatible protocol version).
    pub fn connect(socket: &Path, timeout: Duration) -> Result<Client, ClientError> {
        let mut client = Client::connect_raw(socket, timeout)?;
        let init: InitializeResult = client.call(
            method::INITIALIZE,
            InitializeParams {
                protocol_version: PROTOCOL_VERSION.to_owned(),
                client: Some(format!("agentd-cli/{}", env!("CARGO_PKG_VERSION"))),
            },
        )?;
        if agentd_proto::major_version(&init.protocol_version)
            != agentd_proto::major_version(PROTOCOL_VERSION)
        {
            return Err(ClientError::Protocol(format!(
                "daemon speaks protocol {}, this client {}; restart the daemon with this agentd",
                init.protocol_version, PROTOCOL_VERSION
            )));
        }
        Ok(client)
    }

    /// Connects without the handshake (tests and the hook fast path).
    ///
    /// # Errors
    /// [`ClientError::NotRunning`] when nothing listens.
    pub fn connect_raw(socket: &Path, timeout: Duration) -> Result<Client, ClientError> {
        let stream = UnixStream::connect(socket).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                ClientError::NotRunning(socket.to_path_buf())
            }
            _ => ClientError::Io(e),
        })?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let reader = BufReader::new(stream.try_clone()?);
        Ok(Client {
            writer: stream,
            reader,
            next_id: 1,
            timeout,
        })
    }

    /// The connection's two ends, for a protocol that takes it over after
    /// a JSON-RPC call (`mcp.serve`): the reader keeps what it already
    /// buffered. Read and write timeouts are cleared.
    ///
    /// # Errors
    /// When the timeouts cannot be cleared.
    pub fn into_stream(self) -> Result<(BufReader<UnixStream>, UnixStream), ClientError> {
        self.writer.set_read_timeout(None)?;
        self.writer.set_write_timeout(None)?;
        Ok((self.reader, self.writer))
    }

    /// Calls `method` and waits for its result, skipping notifications.
    ///
    /// # Errors
    /// [`ClientError::Rpc`] for an error response; I/O and protocol errors.
    pub fn call<P: Serialize, R: DeserializeOwned>(
        &mut self,
        method: &str,
        params: P,
    ) -> Result<R, ClientError> {
        let id = self.send(method, params)?;
        loop {
            match self.read_message()? {
                Message::Response(resp) if resp.id == id => return decode(resp),
                Message::Response(resp) => {
                    return Err(ClientError::Protocol(format!(
                        "response for unknown id {}",
                        resp.id
                    )));
                }
                Message::Notification(..) => continue,
            }
        }
    }

    /// Sends a request without waiting; returns its id.
    ///
    /// # Errors
    /// I/O errors.
    pub fn send<P: Serialize>(&mut self, method: &str, params: P) -> Result<u64, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let params =
            serde_json::to_value(params).map_err(|e| ClientError::Protocol(e.to_string()))?;
        let mut line = serde_json::to_vec(&Request::new(id, method, params))
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        line.push(b'\n');
        self.write_all(&line)?;
        Ok(id)
    }

    /// Writes raw bytes (tests of malformed input use this).
    ///
    /// # Errors
    /// I/O errors, [`ClientError::Timeout`].
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.writer.write_all(bytes).map_err(|e| self.io_error(e))
    }

    /// Sets the read timeout (`None` blocks forever, for `--follow`).
    ///
    /// # Errors
    /// I/O errors.
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) -> Result<(), ClientError> {
        self.reader.get_ref().set_read_timeout(timeout)?;
        Ok(())
    }

    /// Reads the next message (response or notification).
    ///
    /// # Errors
    /// [`ClientError::Closed`] at end of stream, [`ClientError::Timeout`],
    /// [`ClientError::Protocol`] for an oversized or malformed frame.
    pub fn read_message(&mut self) -> Result<Message, ClientError> {
        let line = self.read_frame()?;
        let value: Value = serde_json::from_slice(&line)
            .map_err(|e| ClientError::Protocol(format!("invalid JSON from daemon: {e}")))?;
        if value.get("method").is_some() && value.get("id").is_none() {
            let method = value["method"].as_str().unwrap_or_default().to_owned();
            let params = value.get("params").cloned().unwrap_or(Value::Null);
            return Ok(Message::Notification(method, params));
        }
        let resp: Response = serde_json::from_value(value)
            .map_err(|e| ClientError::Protocol(format!("invalid response: {e}")))?;
        Ok(Message::Response(resp))
    }

    fn read_frame(&mut self) -> Result<Vec<u8>, ClientError> {
        let mut line = Vec::new();
        let limit = MAX_FRAME_BYTES as u64 + 1;
        let n = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut line)
            .map_err(|e| self.io_error(e))?;
        if n == 0 {
            return Err(ClientError::Closed);
        }
        if line.last() != Some(&b'\n') {
            if line.len() as u64 >= limit {
                return Err(ClientError::Protocol(
                    "frame from daemon exceeds 1 MiB".to_owned(),
                ));
            }
            return Err(ClientError::Closed);
        }
        line.pop();
        Ok(line)
    }

    fn io_error(&self, e: std::io::Error) -> ClientError {
        match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                ClientError::Timeout(self.timeout)
            }
            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset => {
                ClientError::Closed
            }
            _ => ClientError::Io(e),
        }
    }
}

/// One-shot call for the hook hot path: connects, pipelines `initialize` and
/// the call in one write, and reads both answers. One round trip. When the
/// daemon says the call is held for a human (`approval.held`), the read
/// timeout grows to the hold's.
///
/// # Errors
/// As [`Client::connect`] and [`Client::call`].
pub fn oneshot<P: Serialize, R: DeserializeOwned>(
    socket: &Path,
    timeout: Duration,
    method: &str,
    params: P,
) -> Result<R, ClientError> {
    let mut client = Client::connect_raw(socket, timeout)?;
    let init = Request::new(
        0,
        method::INITIALIZE,
        serde_json::json!({"protocol_version": PROTOCOL_VERSION, "client": "agentd-hook"}),
    );
    let params = serde_json::to_value(params).map_err(|e| ClientError::Protocol(e.to_string()))?;
    let call = Request::new(1, method, params);
    let mut buf = serde_json::to_vec(&init).map_err(|e| ClientError::Protocol(e.to_string()))?;
    buf.push(b'\n');
    serde_json::to_writer(&mut buf, &call).map_err(|e| ClientError::Protocol(e.to_string()))?;
    buf.push(b'\n');
    client.write_all(&buf)?;
    let mut init_seen = false;
    loop {
        match client.read_message()? {
            Message::Response(resp) if resp.id == 0 => {
                if let Some(err) = resp.error {
                    return Err(ClientError::Rpc(err));
                }
                init_seen = true;
            }
            Message::Response(resp) if resp.id == 1 && init_seen => return decode(resp),
            Message::Response(resp) => {
                return Err(ClientError::Protocol(format!(
                    "unexpected response id {}",
                    resp.id
                )));
            }
            Message::Notification(method, params)
                if method == agentd_proto::notification::APPROVAL_HELD
                    || method == agentd_proto::notification::HOOKS_RUNNING =>
            {
                // Held for a human: wait as long as the daemon will hold it
                // (plus a margin), instead of the short fail-open timeout.
                let hold_s = params
                    .get("timeout_s")
                    .and_then(Value::as_u64)
                    .unwrap_or(3600);
                client.set_read_timeout(Some(Duration::from_secs(hold_s.saturating_add(60))))?;
            }
            Message::Notification(..) => {}
        }
    }
}

fn decode<R: DeserializeOwned>(resp: Response) -> Result<R, ClientError> {
    if let Some(err) = resp.error {
        return Err(ClientError::Rpc(err));
    }
    let result = resp.result.unwrap_or(Value::Null);
    serde_json::from_value(result)
        .map_err(|e| ClientError::Protocol(format!("unexpected result shape: {e}")))
}
