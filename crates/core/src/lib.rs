//! tool-runtime core: runs tools exported by a JS/TS entrypoint in supervised bun or node
//! child processes. Nothing in this crate knows about napi; the binding crate converts values
//! and errors at the edge, so everything here is usable and tested from Rust alone.

// Errors carry what an operator needs (ids, exit status, output tails) and only travel on the
// failure path, once per call: their size costs nothing measurable, boxing them costs clarity.
#![allow(clippy::result_large_err)]
// Every unsafe block says why it is sound; trivial FFI goes through nix and std instead.
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod config;
pub(crate) mod duration;
pub mod egress;
pub mod error;
pub(crate) mod fdpass;
pub(crate) mod harness;
pub mod host;
pub mod ids;
pub mod limits;
pub mod locate;
pub mod nodever;
pub mod policy;
pub(crate) mod protocol;
pub(crate) mod runtime;
pub mod sandbox;
pub(crate) mod supervisor;
pub(crate) mod validate;
pub(crate) mod worker;

pub use config::{ConfigPatch, RuntimeConfig, RuntimeType, SandboxMode};
pub use error::{Error, ExitInfo, ThrownError};
pub use protocol::Progress;
pub use runtime::{Admitted, CallOptions, CallOutcome, InlineCode, Runtime, RuntimeFactory};
pub use worker::{CallEvent, CallEvents, CallMetrics, Stream};
