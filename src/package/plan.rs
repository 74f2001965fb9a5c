//! The high level of a packaging run: a [`PackagePlan`] is everything decided before the first
//! byte is written — the output layout (OUT, the key manifest, the asset id, the segment set
//! folders) checked against what is on disk, every input opened and its tracks chosen, the
//! subtitle inputs read, the segment boundaries shared by all renditions, and the keys resolved.
//! A problem with any of these stops the run here, leaving nothing behind; package::run then
//! only writes.
use super::args::PackageArgs;
use super::output::check_targets;
use super::sets::{self, OutputSet};
use super::source::{open_inputs, OpenedInputs, RenditionSource};
use super::warnings::Warning;
use crate::error::Result;
use crate::media::input::InputFile;
use crate::media::Track;
use crate::segment::SegmentPlan;
use crate::subtitle::write::SubtitleSource;
use std::path::PathBuf;

/// Everything a run needs, decided and checked; `package::run::run` writes it.
pub struct PackagePlan {
    /// The typed arguments.
    pub args: PackageArgs,
    /// Subtitle inputs, written after the media on its segment boundaries.
    pub subtitles: Vec<SubtitleSource>,
    /// The opened media inputs.
    pub inputs: Vec<InputFile>,
    /// One per rendition, in output order.
    pub sources: Vec<RenditionSource>,
    /// Where every rendition is cut (the same presentation times in all of them).
    pub segments: SegmentPlan,
    /// What is written from the one read of the inputs, the main set first
    /// (package::sets): the keys of each encrypted set resolved.
    pub sets: Vec<OutputSet>,
    /// Tracks of the inputs left out of the output (`dropped_track` warnings).
    pub dropped: Vec<Warning>,
}

impl PackagePlan {
    /// Checks the output layout, opens the inputs, plans the segments and resolves the keys.
    pub fn new(args: PackageArgs) -> Result<PackagePlan> {
        let input_paths: Vec<PathBuf> = args.inputs.iter().map(|i| i.path.clone()).collect();
        // Before anything is read or written: nothing of the user's may be destroyed.
        check_targets(&args.out, &args.key_manifest, &input_paths, args.job.force)?;
        // Subtitle inputs are read here and written after the media, on its segment boundaries.
        let (media_job, subtitles) = crate::subtitle::write::load(&args.job)?;
        // The media inputs, as checked by the argument stage (the subtitle layer keeps the rest).
        let media = args
            .inputs
            .iter()
            .filter(|i| media_job.inputs.contains(&i.spec));
        let OpenedInputs {
            inputs,
            sources,
            dropped,
        } = open_inputs(
            media,
            &args.job.decryption_keys,
            args.job.decryption_key_file.as_deref(),
        )?;
        crate::cancel::check()?;
        let named: Vec<(&str, &Track)> =
            sources.iter().map(|s| (s.id.as_str(), &s.track)).collect();
        let segments = SegmentPlan::build(
            &named,
            args.segment_duration,
            args.job.cut_at_common_keyframes,
        )?;
        // Keys are resolved before anything is written: a key problem leaves no output behind.
        let sets = sets::plan(&args, &sources)?;
        Ok(PackagePlan {
            args,
            subtitles,
            inputs,
            sources,
            segments,
            sets,
            dropped,
        })
    }
}
