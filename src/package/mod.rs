//! One packaging run, in three stages (ripgrep's "low args → high args"):
//! [`args`] checks and types the job (flags or a job file, [`job`]) → [`plan`] opens the inputs,
//! chooses the tracks ([`source`]), plans the segments, resolves the keys ([`protect`]) and
//! decides the output layout ([`output`]) and the output sets ([`sets`]) → [`run`] writes every rendition in parallel, then the
//! manifests (named by [`template`]) and the key manifest, all into a temporary folder renamed
//! into place at the end. Imports only go down that list: no module imports one that imports it.
pub mod args;
pub mod job;
pub mod output;
pub mod plan;
pub mod protect;
pub mod run;
pub mod sets;
pub mod source;
pub mod template;
pub mod warnings;

pub use args::PackageArgs;
pub use job::{InputSpec, PackageJob, ProtectionOptions};
pub use plan::PackagePlan;
pub use run::{package, PackageSummary};
