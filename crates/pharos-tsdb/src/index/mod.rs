//! The inverted index (label postings) shared by the head and by on-disk blocks.

mod postings;
mod sorted;

pub(crate) use postings::PostingsIndex;
