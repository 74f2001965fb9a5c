//! One packaging run: inputs opened and tracks chosen, the segment plan, every rendition written
//! in parallel, then manifests and the key manifest, all into a temporary folder renamed into
//! place at the end.
pub mod job;
pub mod output;
pub mod protect;
pub mod run;
pub mod template;
pub mod warnings;

pub use job::{InputSpec, PackageJob, ProtectionOptions};
pub use run::{package, PackageSummary, RenditionSummary};
