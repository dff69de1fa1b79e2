//! The WASM runtime: one wasmtime `Engine` with epoch interruption, compiled
//! modules cached by content hash, and one call = one fresh instance in a
//! fresh `Store` with a memory cap and a deadline.
//!
//! The ABI (core WebAssembly, JSON in and out — writable by hand in WAT,
//! and by `agentd-plugin-sdk` in Rust):
//! - the guest exports `memory`, `agentd_alloc(len: i32) -> i32` (a buffer
//!   of `len` bytes the host may write), and entry points
//!   `decide(ptr: i32, len: i32) -> i64` and/or `on_event(ptr, len) -> i64`:
//!   JSON input at `ptr..ptr+len`; the result is `(out_ptr << 32) | out_len`
//!   of its JSON answer in its memory, `0` for none;
//! - the host provides, in module `agentd`, `call(ptr, len) -> i64` (a JSON
//!   request `{"fn": "git.status", "args": {…}}` → the JSON answer placed
//!   with `agentd_alloc`, `{"ok": …}` or `{"error": "…"}`) and
//!   `log(ptr, len)` (a line for `agentd plugins logs`).
//!
//! Nothing else may be imported but the few WASI preview 1 functions a
//! toolchain's standard library needs to start (`wasm32-wasip1` Rust):
//! an empty environment and argument list, `fd_write` into the plugin's
//! log, `proc_exit` as a trap — so no files, clock, randomness or network
//! but what `call` grants.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use wasmtime::{
    Caller, Config, Engine, InstancePre, Linker, Module, Store, StoreLimits, StoreLimitsBuilder,
    Trap,
};

use crate::host::{CallCtx, Host};

/// One epoch tick, the deadline's resolution.
pub const TICK: Duration = Duration::from_millis(1);
/// Plugin calls that can run at once (instance slots in the pool).
pub const POOL_SLOTS: u32 = 256;
/// The largest memory cap a manifest may set, bytes (`memory_mb` ≤ 1024).
pub const MAX_MEMORY_BYTES: usize = 1 << 30;
/// Largest JSON a plugin may answer or send to `call`, bytes.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// Lines of `log` kept per call.
const MAX_LOG_LINES: usize = 64;
/// Compiled modules kept by content hash.
const MODULE_CACHE: usize = 64;

/// Why a call gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// It ran past its deadline and was interrupted.
    #[error("ran past its {0} ms deadline and was stopped")]
    Timeout(u64),
    /// It trapped (or wanted more memory than its cap).
    #[error("trapped: {0}")]
    Trap(String),
    /// It broke the ABI: a missing export, a result out of bounds.
    #[error("broke the plugin ABI: {0}")]
    Abi(String),
}

/// A call's bounds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall-clock time it may run (epoch ticks of [`TICK`]).
    pub deadline: Duration,
    /// Linear memory it may grow to, bytes.
    pub memory_bytes: usize,
}

/// What a call's store holds.
pub struct StoreData {
    limits: StoreLimits,
    ctx: CallCtx,
    host: Arc<dyn Host>,
    /// Lines the plugin logged.
    pub logs: Vec<String>,
}

/// A module ready to instantiate, with the host functions linked.
pub type Ready = InstancePre<StoreData>;

/// Counts calls in flight so the epoch ticker sleeps when there are none:
/// an idle daemon must cost nothing.
#[derive(Default)]
struct InFlight {
    n: Mutex<usize>,
    cv: Condvar,
}

struct Running<'a>(&'a InFlight);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if let Ok(mut n) = self.0.n.lock() {
            *n = n.saturating_sub(1);
        }
    }
}

/// The engine, its linker and the module cache.
pub struct Runtime {
    engine: Engine,
    linker: Linker<StoreData>,
    modules: Mutex<HashMap<[u8; 32], Module>>,
    in_flight: Arc<InFlight>,
}

impl Runtime {
    /// A runtime; starts the epoch ticker thread (asleep while no call runs).
    ///
    /// # Errors
    /// When wasmtime cannot be set up here.
    pub fn new() -> Result<Runtime, String> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        // Instances from a pool of slots made once: a fresh instance per
        // call then costs microseconds instead of an mmap, mprotect and
        // munmap each. Address space only (reserved, not committed); where
        // even that is refused (a small `ulimit -v`), instances are made on
        // demand.
        let mut pool = wasmtime::PoolingAllocationConfig::default();
        pool.total_core_instances(POOL_SLOTS)
            .total_memories(POOL_SLOTS)
            .total_tables(POOL_SLOTS)
            .max_memory_size(MAX_MEMORY_BYTES)
            // A few warm slots whose first 256 KiB are zeroed with memset
            // rather than madvise: no page faults on the next call, and at
            // most ~2 MiB kept resident.
            .max_unused_warm_slots(8)
            .linear_memory_keep_resident(256 << 10)
            .table_keep_resident(16 << 10);
        let mut pooled = config.clone();
        pooled.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
        let engine = match Engine::new(&pooled) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "no instance pool for plugins; instances are made per call");
                Engine::new(&config).map_err(|e| e.to_string())?
            }
        };
        let mut linker = Linker::new(&engine);
        linker
            .func_wrap("agentd", "call", host_call)
            .map_err(|e| e.to_string())?;
        linker
            .func_wrap("agentd", "log", host_log)
            .map_err(|e| e.to_string())?;
        wasi::link(&mut linker).map_err(|e| e.to_string())?;
        let in_flight = Arc::new(InFlight::default());
        let ticker_engine = engine.clone();
        let ticking = Arc::clone(&in_flight);
        std::thread::Builder::new()
            .name("agentd-plugin-epoch".into())
            .spawn(move || {
                loop {
                    {
                        let Ok(mut n) = ticking.n.lock() else { return };
                        while *n == 0 {
                            n = match ticking.cv.wait(n) {
                                Ok(n) => n,
                                Err(_) => return,
                            };
                        }
                    }
                    std::thread::sleep(TICK);
                    ticker_engine.increment_epoch();
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(Runtime {
            engine,
            linker,
            modules: Mutex::new(HashMap::new()),
            in_flight,
        })
    }

    /// Compiles `wasm` (binary or WAT text), or takes it from the cache by
    /// its BLAKE3 hash; checks the exports; links the host functions.
    /// Slow (milliseconds): never on a call's path.
    ///
    /// # Errors
    /// What is wrong with the module.
    pub fn prepare(&self, wasm: &[u8]) -> Result<(Ready, [u8; 32]), String> {
        let hash = *blake3::hash(wasm).as_bytes();
        let cached = self.modules.lock().ok().and_then(|m| m.get(&hash).cloned());
        let module = match cached {
            Some(m) => m,
            None => {
                let m = Module::new(&self.engine, wasm).map_err(|e| format!("{e:#}"))?;
                if let Ok(mut cache) = self.modules.lock() {
                    if cache.len() >= MODULE_CACHE {
                        cache.clear();
                    }
                    cache.insert(hash, m.clone());
                }
                m
            }
        };
        for need in ["memory", "agentd_alloc"] {
            if module.get_export(need).is_none() {
                return Err(format!("it does not export `{need}`"));
            }
        }
        if module.get_export("decide").is_none() && module.get_export("on_event").is_none() {
            return Err("it exports neither `decide` nor `on_event`".into());
        }
        for import in module.imports() {
            let ok = match import.module() {
                "agentd" => matches!(import.name(), "call" | "log"),
                wasi::MODULE => wasi::PROVIDED.contains(&import.name()),
                _ => false,
            };
            if !ok {
                return Err(format!(
                    "it imports `{}::{}`; plugins may import only agentd::call and agentd::log (and, for toolchains that target WASI, {}::{{{}}}, which reach nothing)",
                    import.module(),
                    import.name(),
                    wasi::MODULE,
                    wasi::PROVIDED.join(", ")
                ));
            }
        }
        let ready = self
            .linker
            .instantiate_pre(&module)
            .map_err(|e| format!("{e:#}"))?;
        Ok((ready, hash))
    }

    /// Whether the module exports `name`.
    pub fn exports(ready: &Ready, name: &str) -> bool {
        ready.module().get_export(name).is_some()
    }

    /// Calls `export` of a fresh instance with `input`, within `limits`. Blocking (up to the deadline, plus the host
    /// functions it calls, which share the deadline).
    ///
    /// # Errors
    /// [`CallError`]: timeout, trap, ABI.
    pub fn call(
        &self,
        ready: &Ready,
        export: &str,
        input: &[u8],
        limits: Limits,
        ctx: CallCtx,
        host: Arc<dyn Host>,
    ) -> Result<(Vec<u8>, Vec<String>), CallError> {
        let Limits {
            deadline,
            memory_bytes,
        } = limits;
        let ms = deadline.as_millis() as u64;
        let data = StoreData {
            limits: StoreLimitsBuilder::new()
                .memory_size(memory_bytes)
                .instances(1)
                .tables(4)
                .memories(1)
                .build(),
            ctx: CallCtx {
                deadline: Instant::now() + deadline,
                ..ctx
            },
            host,
            logs: Vec::new(),
        };
        let mut store = Store::new(&self.engine, data);
        store.limiter(|d| &mut d.limits);
        store.set_epoch_deadline((ms / TICK.as_millis() as u64).max(1));
        store.epoch_deadline_trap();
        let _running = self.start();
        let trap = |e: wasmtime::Error| match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => CallError::Timeout(ms),
            _ => CallError::Trap(format!("{e:#}")),
        };
        let instance = ready.instantiate(&mut store).map_err(trap)?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| CallError::Abi("no `memory` export".into()))?;
        let alloc = instance
            .get_typed_func::<i32, i32>(&mut store, "agentd_alloc")
            .map_err(|e| CallError::Abi(format!("agentd_alloc: {e}")))?;
        let entry = instance
            .get_typed_func::<(i32, i32), i64>(&mut store, export)
            .map_err(|e| CallError::Abi(format!("{export}: {e}")))?;
        let len =
            i32::try_from(input.len()).map_err(|_| CallError::Abi("input over 2 GiB".into()))?;
        let ptr = alloc.call(&mut store, len).map_err(trap)?;
        memory
            .write(&mut store, ptr as u32 as usize, input)
            .map_err(|_| CallError::Abi(format!("agentd_alloc gave {ptr}, outside memory")))?;
        let packed = entry.call(&mut store, (ptr, len)).map_err(trap)?;
        let out = if packed == 0 {
            Vec::new()
        } else {
            let (p, l) = (
                (packed as u64 >> 32) as usize,
                (packed as u64 & 0xffff_ffff) as usize,
            );
            if l > MAX_MESSAGE_BYTES {
                return Err(CallError::Abi(format!(
                    "answer of {l} bytes; at most {MAX_MESSAGE_BYTES}"
                )));
            }
            let mut buf = vec![0; l];
            memory
                .read(&store, p, &mut buf)
                .map_err(|_| CallError::Abi(format!("answer at {p}+{l} is outside memory")))?;
            buf
        };
        let logs = std::mem::take(&mut store.data_mut().logs);
        Ok((out, logs))
    }

    fn start(&self) -> Running<'_> {
        if let Ok(mut n) = self.in_flight.n.lock() {
            *n += 1;
            self.in_flight.cv.notify_one();
        }
        Running(&self.in_flight)
    }
}

/// Reads `len` bytes at `ptr` of the caller's memory.
fn read_guest(caller: &mut Caller<'_, StoreData>, ptr: i32, len: i32) -> wasmtime::Result<Vec<u8>> {
    let len = usize::try_from(len).map_err(|_| wasmtime::format_err!("negative length"))?;
    if len > MAX_MESSAGE_BYTES {
        wasmtime::bail!("message of {len} bytes; at most {MAX_MESSAGE_BYTES}");
    }
    let memory = caller
        .get_export("memory")
        .and_then(|e| e.into_memory())
        .ok_or_else(|| wasmtime::format_err!("no memory export"))?;
    let mut buf = vec![0; len];
    memory.read(&*caller, ptr as u32 as usize, &mut buf)?;
    Ok(buf)
}

/// `agentd::call`: one host function, checked against the capabilities.
fn host_call(mut caller: Caller<'_, StoreData>, ptr: i32, len: i32) -> wasmtime::Result<i64> {
    let request = read_guest(&mut caller, ptr, len)?;
    let answer = {
        let data = caller.data();
        let host = Arc::clone(&data.host);
        crate::host::dispatch(host.as_ref(), &data.ctx, &request)
    };
    let bytes = serde_json::to_vec(&answer)?;
    let alloc = caller
        .get_export("agentd_alloc")
        .and_then(|e| e.into_func())
        .ok_or_else(|| wasmtime::format_err!("no agentd_alloc export"))?
        .typed::<i32, i32>(&caller)?;
    let n = i32::try_from(bytes.len())?;
    let at = alloc.call(&mut caller, n)?;
    let memory = caller
        .get_export("memory")
        .and_then(|e| e.into_memory())
        .ok_or_else(|| wasmtime::format_err!("no memory export"))?;
    memory.write(&mut caller, at as u32 as usize, &bytes)?;
    Ok(((at as u32 as i64) << 32) | bytes.len() as i64)
}

/// `agentd::log`: a line for the plugin's log.
fn host_log(mut caller: Caller<'_, StoreData>, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let line = read_guest(&mut caller, ptr, len.min(4096))?;
    let logs = &mut caller.data_mut().logs;
    if logs.len() < MAX_LOG_LINES {
        logs.push(String::from_utf8_lossy(&line).into_owned());
    }
    Ok(())
}

/// The WASI preview 1 functions a plugin built for `wasm32-wasip1` imports
/// to start, each reaching nothing: no environment, no arguments, writes
/// to any descriptor go to the plugin's log, exit is a trap.
mod wasi {
    use wasmtime::{Caller, Linker};

    use super::{MAX_LOG_LINES, StoreData};

    /// The module name.
    pub const MODULE: &str = "wasi_snapshot_preview1";
    /// What is provided.
    pub const PROVIDED: &[&str] = &[
        "environ_get",
        "environ_sizes_get",
        "args_get",
        "args_sizes_get",
        "fd_write",
        "proc_exit",
    ];
    /// WASI's "success".
    const OK: i32 = 0;

    fn memory(caller: &mut Caller<'_, StoreData>) -> wasmtime::Result<wasmtime::Memory> {
        caller
            .get_export("memory")
            .and_then(|e| e.into_memory())
            .ok_or_else(|| wasmtime::format_err!("no memory export"))
    }

    /// Writes two zero u32s (a count and a size) at `a` and `b`.
    fn zeros(mut caller: Caller<'_, StoreData>, a: i32, b: i32) -> wasmtime::Result<i32> {
        let mem = memory(&mut caller)?;
        mem.write(&mut caller, a as u32 as usize, &0u32.to_le_bytes())?;
        mem.write(&mut caller, b as u32 as usize, &0u32.to_le_bytes())?;
        Ok(OK)
    }

    pub fn link(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
        linker.func_wrap(
            MODULE,
            "environ_get",
            |_: Caller<'_, StoreData>, _: i32, _: i32| Ok(OK),
        )?;
        linker.func_wrap(
            MODULE,
            "args_get",
            |_: Caller<'_, StoreData>, _: i32, _: i32| Ok(OK),
        )?;
        linker.func_wrap(MODULE, "environ_sizes_get", zeros)?;
        linker.func_wrap(MODULE, "args_sizes_get", zeros)?;
        linker.func_wrap(
            MODULE,
            "proc_exit",
            |_: Caller<'_, StoreData>, code: i32| -> wasmtime::Result<()> {
                wasmtime::bail!("the plugin exited with code {code}")
            },
        )?;
        linker.func_wrap(
            MODULE,
            "fd_write",
            |mut caller: Caller<'_, StoreData>,
             _fd: i32,
             iovs: i32,
             n: i32,
             written: i32|
             -> wasmtime::Result<i32> {
                let mem = memory(&mut caller)?;
                // Every byte counts as written; the first 4 KiB are kept.
                let (mut text, mut total) = (Vec::new(), 0u32);
                for i in 0..n.clamp(0, 64) as usize {
                    let mut iov = [0u8; 8];
                    mem.read(&caller, iovs as u32 as usize + 8 * i, &mut iov)?;
                    let ptr = u32::from_le_bytes([iov[0], iov[1], iov[2], iov[3]]) as usize;
                    let len = u32::from_le_bytes([iov[4], iov[5], iov[6], iov[7]]);
                    total = total.saturating_add(len);
                    let take = (len as usize).min(4096usize.saturating_sub(text.len()));
                    let start = text.len();
                    text.resize(start + take, 0);
                    mem.read(&caller, ptr, &mut text[start..])?;
                }
                mem.write(&mut caller, written as u32 as usize, &total.to_le_bytes())?;
                let line = String::from_utf8_lossy(&text).trim_end().to_owned();
                let logs = &mut caller.data_mut().logs;
                if !line.is_empty() && logs.len() < MAX_LOG_LINES {
                    logs.push(line);
                }
                Ok(OK)
            },
        )?;
        Ok(())
    }
}
