//! The stats dashboard: one self-contained HTML page (inline CSS and SVG, no script, nothing
//! fetched) over [`crate::stats::Stats`], written by `bloggo stats --html FILE` and served at
//! `/_bloggo/stats` by `bloggo serve`.
//!
//! - [`chart`]: the SVG charts (bars with axes, sparklines, horizontal bars) and their scale;
//! - [`page`]: the page around them: summary figures, tables as fallbacks, the range picker.
//!
//! The charts are drawn here rather than by a chart library: they are a few hundred lines
//! of text over plain numbers, they can carry `<title>`s and CSS classes (so they are
//! accessible and follow light and dark mode), and the binary gains no dependency.

pub mod chart;
pub mod page;
