//! tool-runtime core: runs tools exported by a JS/TS entrypoint in supervised bun or node
//! child processes. Nothing in this crate knows about napi; the binding crate converts values
//! and errors at the edge, so everything here is usable and tested from Rust alone.

pub mod config;
pub mod duration;
pub mod error;
pub mod harness;
pub mod ids;
pub mod locate;
pub mod policy;
pub mod protocol;
pub mod runtime;
pub mod sandbox;
pub mod supervisor;
pub mod validate;

pub use config::{ConfigPatch, RuntimeConfig, RuntimeType, SandboxMode};
pub use error::{Error, ExitInfo, ThrownError};
pub use runtime::{CallOptions, CallOutcome, Runtime, RuntimeFactory};
