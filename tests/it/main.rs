//! bloggo's integration tests: one binary, one module per area, a shared harness.

mod harness;

mod aliases;
mod api;
mod backup;
mod beacon;
mod build;
mod content;
mod crash;
mod dashboard;
mod delta;
mod expected;
mod faults;
mod foundation;
mod import;
mod ingest;
mod linkcheck;
mod links;
mod moving;
mod offsite;
mod pages;
mod processes;
mod props;
mod scheduled;
mod sections;
mod serve;
mod signin;
mod urls;
mod views;
mod webhooks;
