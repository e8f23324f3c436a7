//! The analytics service: what HR, L&D and managers read about their sellers, computed from the
//! store's plain facts with the arithmetic of [`crate::domain::analytics`].
//!
//! It keeps nothing between requests, so it is a set of functions: each view is one entry point
//! taking a read connection ([`crate::store::reader::Reader`], which may be the read replica's),
//! the caller and `now`, and returning its report (the JSON body; handlers add CSV and SVG).
//! Every view starts from the caller's [`scope`]: who they may see (managers their teams and the
//! teams nested below, analysts and admins the whole organization) and the names and maps the
//! view groups by.
//!
//! - [`proficiency`], [`heatmap`], [`knowledge_gain`], [`forgetting_risk`]: folds over the
//!   learners' memory states ([`memory`]);
//! - [`retention`]: the retention curve, observed against predicted recall;
//! - [`engagement`] and [`trends`]: week by week ([`weekly`]), from the weekly roll-up and the
//!   [`recall_weeks`];
//! - [`kpi`]: business figures uploaded per seller, and their correlation with proficiency;
//! - [`knowledge_application`]: what sellers know beside what managers saw them apply.
//!
//! [`recall_weeks`] also holds the background task that keeps ended weeks as snapshots.

pub mod digest;
pub mod engagement;
pub mod forgetting_risk;
pub mod heatmap;
pub mod knowledge_application;
pub mod knowledge_gain;
pub mod kpi;
pub mod memory;
pub mod proficiency;
pub mod recall_weeks;
pub mod retention;
pub mod scope;
pub mod trends;
pub mod weekly;
