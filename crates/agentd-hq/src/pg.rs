//! HQ's store on PostgreSQL (`[hq] database = "postgres://…"`): the same
//! tables and operations as [`crate::store`]'s SQLite, for team scale —
//! several HQ processes on one database. tokio-postgres through a
//! deadpool-postgres pool; migrations under an advisory lock, so HQs
//! starting together migrate once.

use agentd_proto::api::EventRecord;
use agentd_proto::hq::{AuditEntry, RunnerView};
use agentd_store::StoredEvent;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use crate::store::{Hello, StoreError, TokenView};
use crate::token::{self, Principal};

const MIGRATIONS: &[&str] = &[
    "CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        hash BYTEA NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('runner', 'user')),
        name TEXT NOT NULL,
        role TEXT,
        created_ms BIGINT NOT NULL,
        revoked_ms BIGINT
    );
    CREATE TABLE runners (
        name TEXT PRIMARY KEY,
        version TEXT,
        os TEXT,
        labels TEXT NOT NULL DEFAULT '[]',
        peer TEXT,
        connected_ms BIGINT,
        last_seen_ms BIGINT,
        acked_seq BIGINT NOT NULL DEFAULT 0,
        events BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE events (
        runner TEXT NOT NULL,
        seq BIGINT NOT NULL,
        ts_ms BIGINT NOT NULL,
        session_id TEXT NOT NULL,
        agent TEXT NOT NULL,
        source TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        env TEXT NOT NULL,
        PRIMARY KEY (runner, seq)
    );
    CREATE TABLE audit (
        id BIGSERIAL PRIMARY KEY,
        ts_ms BIGINT NOT NULL,
        \"user\" TEXT NOT NULL,
        token_id TEXT NOT NULL,
        peer TEXT,
        action TEXT NOT NULL,
        runner TEXT NOT NULL,
        target TEXT NOT NULL,
        outcome TEXT NOT NULL
    );",
    // Which HQ process holds a runner's link (several HQs on one database).
    "ALTER TABLE runners ADD COLUMN hq_id TEXT;",
    // Several HQs reaching each other (terminals of runners linked to
    // another HQ): where each is, and the secret they sign calls with.
    "CREATE TABLE hq_peers (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        ca_pem TEXT,
        seen_ms BIGINT NOT NULL
    );
    CREATE TABLE hq_secret (
        one INTEGER PRIMARY KEY CHECK (one = 1),
        secret TEXT NOT NULL
    );",
    // Answers too large for a NOTIFY pass through this table instead.
    "CREATE TABLE hq_answers (
        to_hq TEXT NOT NULL,
        request BIGINT NOT NULL,
        body TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        PRIMARY KEY (to_hq, request)
    );",
];

/// A runner is linked to the HQ its row names only while that HQ keeps
/// `last_seen_ms` fresh (every ping, 10 s): a crashed HQ's claims lapse.
pub const LINK_FRESH_MS: i64 = 30_000;

/// The channel HQs on one database talk on (LISTEN/NOTIFY).
pub const CHANNEL: &str = "agentd_hq";

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        StoreError::Postgres(e.to_string())
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> StoreError {
        StoreError::Postgres(e.to_string())
    }
}

/// A pool of connections to HQ's PostgreSQL database.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    url: String,
}

fn seq(v: i64) -> u64 {
    v.max(0) as u64
}

impl PgStore {
    /// Connects to `url` and migrates the schema.
    ///
    /// # Errors
    /// A bad URL, an unreachable server, or a failed migration.
    pub async fn open(url: &str) -> Result<PgStore, StoreError> {
        let config: tokio_postgres::Config = url.parse().map_err(|e| {
            StoreError::Invalid(format!("[hq] database is not a PostgreSQL URL: {e}"))
        })?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(8)
            .build()
            .map_err(|e| StoreError::Postgres(e.to_string()))?;
        let store = PgStore {
            pool,
            url: url.to_owned(),
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock(7164826553)", &[])
            .await?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS hq_schema (version BIGINT NOT NULL)")
            .await?;
        let rows = tx.query("SELECT version FROM hq_schema", &[]).await?;
        let current = rows.first().map_or(0, |r| r.get::<_, i64>(0));
        if current > MIGRATIONS.len() as i64 {
            return Err(StoreError::Invalid(format!(
                "HQ's database schema is version {current}, newer than this agentd knows ({}); upgrade agentd",
                MIGRATIONS.len()
            )));
        }
        for sql in MIGRATIONS.iter().skip(current as usize) {
            tx.batch_execute(sql).await?;
        }
        tx.execute("DELETE FROM hq_schema", &[]).await?;
        tx.execute(
            "INSERT INTO hq_schema (version) VALUES ($1)",
            &[&(MIGRATIONS.len() as i64)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// As [`crate::store::Store::create_token`].
    ///
    /// # Errors
    /// A bad name, or the database.
    pub async fn create_token(
        &self,
        principal: &Principal,
        now_ms: i64,
    ) -> Result<String, StoreError> {
        let (kind, name, role) = match principal {
            Principal::Runner(n) => ("runner", n.as_str(), None),
            Principal::User { name, role } => ("user", name.as_str(), Some(role.as_str())),
        };
        token::check_new(principal).map_err(StoreError::Invalid)?;
        let secret = token::new_secret(kind).map_err(StoreError::Invalid)?;
        let hash = token::hash(&secret);
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO tokens (id, hash, kind, name, role, created_ms) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&token::id_of(&hash), &&hash[..], &kind, &name, &role, &now_ms],
            )
            .await?;
        Ok(secret)
    }

    /// As [`crate::store::Store::principal`].
    ///
    /// # Errors
    /// The database.
    pub async fn principal(&self, secret: &str) -> Result<Option<(String, Principal)>, StoreError> {
        let hash = token::hash(secret);
        self.principal_where("hash = $1", &&hash[..]).await
    }

    /// As [`crate::store::Store::bind_runner`] (under an advisory lock, so
    /// two HQs cannot bind two tokens to one name).
    ///
    /// # Errors
    /// The database.
    pub async fn bind_runner(&self, token_id: &str, name: &str) -> Result<bool, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock(7164826554)", &[])
            .await?;
        let n = tx
            .execute(
                "UPDATE tokens SET name = $2 WHERE id = $1 AND kind = 'runner' AND name = '*'
                   AND revoked_ms IS NULL
                   AND NOT EXISTS (SELECT 1 FROM tokens WHERE kind = 'runner' AND name = $2 AND revoked_ms IS NULL)
               AND NOT EXISTS (SELECT 1 FROM runners WHERE name = $2)",
                &[&token_id, &name],
            )
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    /// As [`crate::store::Store::principal_by_id`].
    ///
    /// # Errors
    /// The database.
    pub async fn principal_by_id(
        &self,
        id: &str,
    ) -> Result<Option<(String, Principal)>, StoreError> {
        self.principal_where("id = $1", &id).await
    }

    async fn principal_where(
        &self,
        condition: &str,
        value: &(dyn tokio_postgres::types::ToSql + Sync),
    ) -> Result<Option<(String, Principal)>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT id, kind, name, role FROM tokens WHERE {condition} AND revoked_ms IS NULL"
                ),
                &[value],
            )
            .await?;
        Ok(row.and_then(|r| {
            let (id, kind, name, role): (String, String, String, Option<String>) =
                (r.get(0), r.get(1), r.get(2), r.get(3));
            Some((id, token::principal_of(&kind, name, role.as_deref())?))
        }))
    }

    /// As [`crate::store::Store::tokens`].
    ///
    /// # Errors
    /// The database.
    pub async fn tokens(&self) -> Result<Vec<TokenView>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT id, kind, name, role, created_ms, revoked_ms FROM tokens ORDER BY created_ms DESC, id",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| TokenView {
                id: r.get(0),
                kind: r.get(1),
                name: r.get(2),
                role: r.get(3),
                created_ms: r.get(4),
                revoked_ms: r.get(5),
            })
            .collect())
    }

    /// As [`crate::store::Store::revoke`].
    ///
    /// # Errors
    /// None or several match; the database.
    pub async fn revoke(&self, prefix: &str, now_ms: i64) -> Result<TokenView, StoreError> {
        let t = crate::store::pick_token(self.tokens().await?, prefix)?;
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE tokens SET revoked_ms = $2 WHERE id = $1 AND revoked_ms IS NULL",
                &[&t.id, &now_ms],
            )
            .await?;
        Ok(TokenView {
            revoked_ms: t.revoked_ms.or(Some(now_ms)),
            ..t
        })
    }

    /// As [`crate::store::Store::revoked`].
    ///
    /// # Errors
    /// The database.
    pub async fn revoked(&self) -> Result<Vec<String>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query("SELECT id FROM tokens WHERE revoked_ms IS NOT NULL", &[])
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// As [`crate::store::Store::connected`].
    ///
    /// # Errors
    /// The database.
    pub async fn connected(
        &self,
        runner: &str,
        hello: &Hello,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let labels = serde_json::to_string(&hello.labels).unwrap_or_else(|_| "[]".into());
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                "INSERT INTO runners (name, version, os, labels, peer, connected_ms, last_seen_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $6)
                 ON CONFLICT (name) DO UPDATE SET version = $2, os = $3, labels = $4, peer = $5,
                     connected_ms = $6, last_seen_ms = $6
                 RETURNING acked_seq",
                &[
                    &runner,
                    &hello.version,
                    &hello.os,
                    &labels,
                    &hello.peer,
                    &now_ms,
                ],
            )
            .await?;
        Ok(seq(row.get(0)))
    }

    /// As [`crate::store::Store::append`]; the runner's row is locked for
    /// the transaction, so two HQs never interleave one runner's batches.
    ///
    /// # Errors
    /// The database (nothing of the batch is stored then).
    pub async fn append(
        &self,
        runner: &str,
        events: &[EventRecord],
        now_ms: i64,
    ) -> Result<(u64, Vec<StoredEvent>), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let mut acked = tx
            .query_opt(
                "SELECT acked_seq FROM runners WHERE name = $1 FOR UPDATE",
                &[&runner],
            )
            .await?
            .map_or(0, |r| seq(r.get(0)));
        let insert = tx
            .prepare(
                "INSERT INTO events (runner, seq, ts_ms, session_id, agent, source, name, kind, payload, env)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
            )
            .await?;
        let mut stored = Vec::new();
        for e in events {
            if e.seq <= acked {
                continue;
            }
            let row = crate::store::stored_of(e);
            let n = tx
                .execute(
                    &insert,
                    &[
                        &runner,
                        &(row.seq as i64),
                        &row.ts_ms,
                        &row.session_id,
                        &row.agent,
                        &row.source,
                        &row.name,
                        &row.kind,
                        &row.payload,
                        &row.env,
                    ],
                )
                .await?;
            acked = e.seq;
            if n == 1 {
                stored.push(row);
            }
        }
        tx.execute(
            "UPDATE runners SET acked_seq = $2, events = events + $3, last_seen_ms = $4 WHERE name = $1",
            &[&runner, &(acked as i64), &(stored.len() as i64), &now_ms],
        )
        .await?;
        tx.commit().await?;
        Ok((acked, stored))
    }

    /// As [`crate::store::Store::seen`].
    ///
    /// # Errors
    /// The database.
    pub async fn seen(&self, runner: &str, now_ms: i64) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE runners SET last_seen_ms = $2 WHERE name = $1",
                &[&runner, &now_ms],
            )
            .await?;
        Ok(())
    }

    /// As [`crate::store::Store::events`].
    ///
    /// # Errors
    /// The database.
    pub async fn events(
        &self,
        runner: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT seq, ts_ms, session_id, agent, source, name, kind, payload, env FROM events
                 WHERE runner = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                &[
                    &runner,
                    &(after.min(i64::MAX as u64) as i64),
                    &(limit.min(i64::MAX as usize) as i64),
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| StoredEvent {
                seq: seq(r.get(0)),
                ts_ms: r.get(1),
                session_id: r.get(2),
                agent: r.get(3),
                source: r.get(4),
                name: r.get(5),
                kind: r.get(6),
                payload: r.get(7),
                env: r.get(8),
            })
            .collect())
    }

    /// As [`crate::store::Store::runners`].
    ///
    /// # Errors
    /// The database.
    pub async fn runners(&self) -> Result<Vec<RunnerView>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT name, version, os, labels, peer, connected_ms, last_seen_ms, acked_seq, events,
                     hq_id IS NOT NULL AND last_seen_ms > $1
                 FROM runners ORDER BY name",
                &[&(crate::service::now_ms() - LINK_FRESH_MS)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let labels: String = r.get(3);
                RunnerView {
                    name: r.get(0),
                    online: r.get::<_, Option<bool>>(9).unwrap_or(false),
                    version: r.get(1),
                    os: r.get(2),
                    labels: serde_json::from_str(&labels).unwrap_or_default(),
                    peer: r.get(4),
                    connected_ms: r.get(5),
                    last_seen_ms: r.get(6),
                    acked_seq: seq(r.get(7)),
                    events: seq(r.get(8)),
                    sessions: 0,
                }
            })
            .collect())
    }

    /// Records that HQ process `hq_id` holds `runner`'s link (`None`: that
    /// `holder` no longer does; another HQ's later claim is left alone).
    ///
    /// # Errors
    /// The database.
    pub async fn set_link(
        &self,
        runner: &str,
        hq_id: Option<&str>,
        holder: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        match hq_id {
            Some(id) => {
                client
                    .execute(
                        "UPDATE runners SET hq_id = $2, last_seen_ms = $3 WHERE name = $1",
                        &[&runner, &id, &now_ms],
                    )
                    .await?
            }
            None => {
                client
                    .execute(
                        "UPDATE runners SET hq_id = NULL WHERE name = $1 AND hq_id = $2",
                        &[&runner, &holder],
                    )
                    .await?
            }
        };
        Ok(())
    }

    /// The HQ process holding `runner`'s link now, if any.
    ///
    /// # Errors
    /// The database.
    pub async fn link_of(&self, runner: &str) -> Result<Option<String>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT hq_id FROM runners WHERE name = $1 AND hq_id IS NOT NULL AND last_seen_ms > $2",
                &[&runner, &(crate::service::now_ms() - LINK_FRESH_MS)],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Registers (or refreshes) HQ process `id` as reachable at `url`,
    /// trusting `ca_pem` for it.
    ///
    /// # Errors
    /// The database.
    pub async fn register_peer(
        &self,
        id: &str,
        url: &str,
        ca_pem: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO hq_peers (id, url, ca_pem, seen_ms) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id) DO UPDATE SET url = $2, ca_pem = $3, seen_ms = $4",
                &[&id, &url, &ca_pem, &now_ms],
            )
            .await?;
        client
            .execute(
                "DELETE FROM hq_peers WHERE seen_ms < $1",
                &[&(now_ms - 10 * LINK_FRESH_MS)],
            )
            .await?;
        Ok(())
    }

    /// Where HQ process `id` is, and its CA, while it keeps registering.
    ///
    /// # Errors
    /// The database.
    pub async fn peer(&self, id: &str) -> Result<Option<(String, Option<String>)>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT url, ca_pem FROM hq_peers WHERE id = $1 AND seen_ms > $2",
                &[&id, &(crate::service::now_ms() - LINK_FRESH_MS)],
            )
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// Forgets HQ process `id` (it is stopping).
    ///
    /// # Errors
    /// The database.
    pub async fn forget_peer(&self, id: &str) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute("DELETE FROM hq_peers WHERE id = $1", &[&id])
            .await?;
        Ok(())
    }

    /// The secret HQ processes on this database sign their calls to each
    /// other with (made by the first to ask, `candidate`).
    ///
    /// # Errors
    /// The database.
    pub async fn peer_secret(&self, candidate: &str) -> Result<String, StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO hq_secret (one, secret) VALUES (1, $1) ON CONFLICT (one) DO NOTHING",
                &[&candidate],
            )
            .await?;
        let row = client
            .query_one("SELECT secret FROM hq_secret WHERE one = 1", &[])
            .await?;
        Ok(row.get(0))
    }

    /// Keeps a routed answer too large for a NOTIFY, for HQ `to_hq` to
    /// take (answers left over an hour are dropped).
    ///
    /// # Errors
    /// The database.
    pub async fn put_answer(
        &self,
        to_hq: &str,
        request: u64,
        body: &str,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        let now = crate::service::now_ms();
        client
            .execute(
                "DELETE FROM hq_answers WHERE created_ms < $1",
                &[&(now - 3_600_000)],
            )
            .await?;
        client
            .execute(
                "INSERT INTO hq_answers (to_hq, request, body, created_ms) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (to_hq, request) DO UPDATE SET body = $3, created_ms = $4",
                &[&to_hq, &(request as i64), &body, &now],
            )
            .await?;
        Ok(())
    }

    /// Takes (reads and deletes) the answer kept for this HQ's `request`.
    ///
    /// # Errors
    /// The database.
    pub async fn take_answer(
        &self,
        to_hq: &str,
        request: u64,
    ) -> Result<Option<String>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "DELETE FROM hq_answers WHERE to_hq = $1 AND request = $2 RETURNING body",
                &[&to_hq, &(request as i64)],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Sends `payload` to every HQ listening on [`CHANNEL`].
    ///
    /// # Errors
    /// The database (a payload over 8 000 bytes is refused by it).
    pub async fn notify(&self, payload: &str) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])
            .await?;
        Ok(())
    }

    /// Listens on [`CHANNEL`] on a connection of its own; payloads arrive
    /// on the receiver until the connection fails (the receiver then ends:
    /// listen again).
    ///
    /// # Errors
    /// The database.
    pub async fn listen(&self) -> Result<tokio::sync::mpsc::UnboundedReceiver<String>, StoreError> {
        use futures_util::StreamExt;
        let (client, mut connection) = tokio_postgres::connect(&self.url, NoTls).await?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let (keep, kept) = tokio::sync::oneshot::channel::<tokio_postgres::Client>();
        tokio::spawn(async move {
            // The connection is read here (LISTEN's own answer too); the
            // client, handed over once LISTEN is done, lives as long.
            let mut kept = kept;
            let mut client = None;
            let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
            loop {
                tokio::select! {
                    c = &mut kept, if client.is_none() => match c {
                        Ok(c) => client = Some(c),
                        Err(_) => return,
                    },
                    m = messages.next() => match m {
                        Some(Ok(tokio_postgres::AsyncMessage::Notification(n))) => {
                            if tx.send(n.payload().to_owned()).is_err() {
                                return;
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => return,
                    },
                }
            }
        });
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
        let _ = keep.send(client);
        Ok(rx)
    }

    /// As [`crate::store::Store::forget`].
    ///
    /// # Errors
    /// The database.
    pub async fn forget(&self, runner: &str) -> Result<u64, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute("DELETE FROM events WHERE runner = $1", &[&runner])
            .await?;
        tx.execute("DELETE FROM runners WHERE name = $1", &[&runner])
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// As [`crate::store::Store::audit`].
    ///
    /// # Errors
    /// The database.
    pub async fn audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO audit (ts_ms, \"user\", token_id, peer, action, runner, target, outcome)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &e.ts_ms, &e.user, &e.token_id, &e.peer, &e.action, &e.runner, &e.target,
                    &e.outcome,
                ],
            )
            .await?;
        Ok(())
    }

    /// As [`crate::store::Store::audit_log`].
    ///
    /// # Errors
    /// The database.
    pub async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT ts_ms, \"user\", token_id, peer, action, runner, target, outcome FROM audit
                 ORDER BY id DESC LIMIT $1",
                &[&(limit.min(i64::MAX as usize) as i64)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| AuditEntry {
                ts_ms: r.get(0),
                user: r.get(1),
                token_id: r.get(2),
                peer: r.get(3),
                action: r.get(4),
                runner: r.get(5),
                target: r.get(6),
                outcome: r.get(7),
            })
            .collect())
    }
}
