//! Tracks and samples as read from an input file, and what their codec configuration says.
pub mod codec;
pub mod input;
pub mod protection;
pub mod sample_table;
pub mod time;
pub mod track;

pub use sample_table::{Sample, SampleTable, Samples};
pub use track::{Track, TrackKind};
