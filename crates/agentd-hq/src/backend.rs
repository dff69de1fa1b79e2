//! Where HQ keeps its state: `hq.db` (SQLite, the default: one HQ) or
//! PostgreSQL (`[hq] database`: team scale, several HQs on one database).
//! One async interface over both, so the service is written once.

use std::sync::Arc;

use agentd_proto::api::EventRecord;
use agentd_proto::hq::{AuditEntry, RunnerView};
use agentd_store::StoredEvent;
use tokio::sync::Mutex;

use crate::pg::PgStore;
use crate::store::{Hello, Store, StoreError, TokenView};
use crate::token::Principal;

/// HQ's store.
#[derive(Clone)]
pub enum Backend {
    /// `hq.db`; one connection, used off the async workers, callers
    /// queueing as tasks.
    Sqlite(Arc<Mutex<Store>>),
    /// PostgreSQL.
    Postgres(PgStore),
}

impl Backend {
    /// SQLite over an open store.
    pub fn sqlite(store: Store) -> Backend {
        Backend::Sqlite(Arc::new(Mutex::new(store)))
    }

    /// Whether other HQ processes may write the same store (Postgres): HQ
    /// then also reads what they stored.
    pub fn shared(&self) -> bool {
        matches!(self, Backend::Postgres(_))
    }

    async fn blocking<T: Send + 'static>(
        store: &Arc<Mutex<Store>>,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let mut store = Arc::clone(store).lock_owned().await;
        tokio::task::spawn_blocking(move || f(&mut store))
            .await
            .map_err(|e| StoreError::Invalid(format!("the HQ store task failed: {e}")))?
    }

    /// See [`Store::create_token`].
    ///
    /// # Errors
    /// A bad name, or the store.
    pub async fn create_token(&self, p: Principal, now_ms: i64) -> Result<String, StoreError> {
        match self {
            Backend::Sqlite(s) => Self::blocking(s, move |s| s.create_token(&p, now_ms)).await,
            Backend::Postgres(pg) => pg.create_token(&p, now_ms).await,
        }
    }

    /// See [`Store::principal`].
    ///
    /// # Errors
    /// The store.
    pub async fn principal(
        &self,
        secret: String,
    ) -> Result<Option<(String, Principal)>, StoreError> {
        match self {
            Backend::Sqlite(s) => Self::blocking(s, move |s| s.principal(&secret)).await,
            Backend::Postgres(pg) => pg.principal(&secret).await,
        }
    }

    /// See [`Store::bind_runner`].
    ///
    /// # Errors
    /// The store.
    pub async fn bind_runner(&self, token_id: String, name: String) -> Result<bool, StoreError> {
        match self {
            Backend::Sqlite(s) => Self::blocking(s, move |s| s.bind_runner(&token_id, &name)).await,
            Backend::Postgres(pg) => pg.bind_runner(&token_id, &name).await,
        }
    }

    /// See [`Store::principal_by_id`].
    ///
    /// # Errors
    /// The store.
    pub async fn principal_by_id(
        &self,
        id: String,
    ) -> Result<Option<(String, Principal)>, StoreError> {
        match self {
            Backend::Sqlite(s) => Self::blocking(s, move |s| s.principal_by_id(&id)).await,
            Backend::Postgres(pg) => pg.principal_by_id(&id).await,
        }
    }

    /// See [`Store::tokens`].
    ///
    /// # Errors
    /// The store.
    pub async fn tokens(&self) -> Result<Vec<TokenView>, StoreError> {
        match self {
            Backend::Sqlite(s) => Self::blocking(s, |s| s.tokens()).await,
            Backend::Postgres(pg) => pg.tokens().await,
        }
    }

    /// See [`Store::revoke`].
    ///
    /// # Errors
    /// None or several match; the store.
    pub async fn revoke(&self, prefix: String, now_ms: i64) -> Result<TokenView, StoreError> {
        match self {
            Backend::Sqlite(s) => Self::blocking(s, move |s| s.revoke(&prefix, now_ms)).await,
            Backend::Postgres(pg) => pg.revoke(&prefix, now_ms).await,
        }
    }

    /// See [`Store::revoked`].
    ///
    /// # Errors
    /// The store.
    pub async fn revoked(&self) -> Result<Vec<String>, StoreError> {
        match self {
            Backend::Sqlite(s) => Self::blocking(s, |s| s.revoked()).await,
            Backend::Postgres(pg) => pg.revoked().await,
        }
    }

    /// Something that changes when another process writes the store
    /// (SQLite's `data_version`); `None` when there is no such thing cheap
    /// to read (Postgres), so the caller looks every time.
    ///
    /// # Errors
    /// The store.
    pub async fn change_marker(&self) -> Result<Option<i64>, StoreError> {
        match self {
            Backend::Sqlite(s) => Self::blocking(s, |s| s.data_version().map(Some)).await,
            Backend::Postgres(_) => Ok(None),
        }
    }

    /// See [`Store::connected`].
    ///
    /// # Errors
    /// The store.
    pub async fn connected(
        &self,
        runner: String,
        hello: Hello,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        match self {
            Backend::Sqlite(s) => {
                Self::blocking(s, move |s| s.connected(&runner, &hello, now_ms)).await
            }
            Backend::Postgres(pg) => pg.connected(&runner, &hello, now_ms).await,
        }
    }

    /// See [`Store::append`].
    ///
    /// # Errors
    /// The store (nothing of the batch is stored then).
    pub async fn append(
        &self,
        runner: String,
        events: Vec<EventRecord>,
        now_ms: i64,
    ) -> Result<(u64, Vec<StoredEvent>), StoreError> {
        match self {
            Backend::Sqlite(s) => {
                Self::blocking(s, move |s| s.append(&runner, &events, now_ms)).await
            }
            Backend::Postgres(pg) => pg.append(&runner, &events, now_ms).await,
        }
    }

    /// See [`Store::seen`].
    ///
    /// # Errors
    /// The store.
    pub async fn seen(&self, runner: String, now_ms: i64) -> Result<(), StoreError> {
        match self {
            Backend::Sqlite(s) => Self::blocking(s, move |s| s.seen(&runner, now_ms)).await,
            Backend::Postgres(pg) => pg.seen(&runner, now_ms).await,
        }
    }

    /// See [`Store::events`].
    ///
    /// # Errors
    /// The store.
    pub async fn events(
        &self,
        runner: String,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        match self {
            Backend::Sqlite(s) => Self::blocking(s, move |s| s.events(&runner, after, limit)).await,
            Backend::Postgres(pg) => pg.events(&runner, after, limit).await,
        }
    }

    /// See [`Store::runners`].
    ///
    /// # Errors
    /// The store.
    pub async fn runners(&self) -> Result<Vec<RunnerView>, StoreError> {
        match self {
            Backend::Sqlite(s) => Self::blocking(s, |s| s.runners()).await,
            Backend::Postgres(pg) => pg.runners().await,
        }
    }

    /// See [`Store::audit`].
    ///
    /// # Errors
    /// The store.
    pub async fn audit(&self, e: AuditEntry) -> Result<(), StoreError> {
        match self {
            Backend::Sqlite(s) => Self::blocking(s, move |s| s.audit(&e)).await,
            Backend::Postgres(pg) => pg.audit(&e).await,
        }
    }

    /// Records which HQ process holds `runner`'s link (Postgres; one HQ
    /// on SQLite knows its own links).
    ///
    /// # Errors
    /// The store.
    pub async fn set_link(
        &self,
        runner: &str,
        hq_id: Option<&str>,
        holder: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        match self {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(pg) => pg.set_link(runner, hq_id, holder, now_ms).await,
        }
    }

    /// The HQ process holding `runner`'s link, as the shared store says.
    ///
    /// # Errors
    /// The store.
    pub async fn link_of(&self, runner: &str) -> Result<Option<String>, StoreError> {
        match self {
            Backend::Sqlite(_) => Ok(None),
            Backend::Postgres(pg) => pg.link_of(runner).await,
        }
    }

    /// Tells the other HQs `payload` (Postgres NOTIFY).
    ///
    /// # Errors
    /// The store; on SQLite there is nobody to tell.
    pub async fn notify(&self, payload: &str) -> Result<(), StoreError> {
        match self {
            Backend::Sqlite(_) => Err(StoreError::Invalid(
                "one HQ on SQLite has no other HQ to tell".into(),
            )),
            Backend::Postgres(pg) => pg.notify(payload).await,
        }
    }

    /// See [`Store::forget`].
    ///
    /// # Errors
    /// The store.
    pub async fn forget(&self, runner: String) -> Result<u64, StoreError> {
        match self {
            Backend::Sqlite(s) => Self::blocking(s, move |s| s.forget(&runner)).await,
            Backend::Postgres(pg) => pg.forget(&runner).await,
        }
    }

    /// See [`Store::audit_log`].
    ///
    /// # Errors
    /// The store.
    pub async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        match self {
            Backend::Sqlite(s) => Self::blocking(s, move |s| s.audit_log(limit)).await,
            Backend::Postgres(pg) => pg.audit_log(limit).await,
        }
    }
}
