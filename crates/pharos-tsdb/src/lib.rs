//! The embedded time-series store: in-memory head with Gorilla-compressed chunks, label
//! postings index, write-ahead log, immutable blocks, compaction and retention.
