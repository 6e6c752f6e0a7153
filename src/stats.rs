//! What `bloggo stats` and the admin API's `GET /stats` report: the views of a window, per
//! post, by device class and by referrer, read in one go from the store.

use std::collections::HashMap;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::serve::device::{classify, Device};
use crate::store::views::DeviceClass;
use crate::store::{Store, TIMESTAMP_FORMAT};

/// The views of one window.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// UTC, the store's timestamp format.
    pub since: String,
    pub total: i64,
    pub posts: Vec<PostLine>,
    pub devices: Devices,
    pub referrers: Vec<Referrer>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PostLine {
    pub slug: String,
    pub title: String,
    pub views: i64,
}

/// Views per device class.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Devices {
    pub desktop: i64,
    pub mobile: i64,
    pub tablet: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Referrer {
    pub referrer: String,
    pub views: i64,
}

/// The views newer than `window`, the `top` posts and referrers.
pub fn gather(
    store_path: &std::path::Path,
    window: std::time::Duration,
    top: usize,
) -> Result<Stats> {
    let window = chrono::Duration::from_std(window).context("the window is too long")?;
    let since = (chrono::Utc::now() - window)
        .format(TIMESTAMP_FORMAT)
        .to_string();
    let store = Store::open_read_only(store_path)?;
    let read = || -> Result<_, crate::store::StoreError> {
        Ok((
            store.total_views(&since)?,
            store.views_per_post(&since, top)?,
            store.views_by_user_agent(&since)?,
            store.top_referrers(&since, top)?,
        ))
    };
    let (total, posts, agents, referrers) =
        read().with_context(|| format!("{}: cannot read the views", store_path.display()))?;
    let mut by_class: HashMap<DeviceClass, i64> = HashMap::new();
    for (ua, n) in agents {
        // Views are recorded from people only; an agent now seen as a bot counts as desktop.
        let class = match classify(&ua) {
            Device::Person(c) => c,
            Device::Bot => DeviceClass::Desktop,
        };
        *by_class.entry(class).or_default() += n;
    }
    let count = |c| by_class.get(&c).copied().unwrap_or(0);
    Ok(Stats {
        since,
        total,
        posts: posts
            .into_iter()
            .map(|p| PostLine {
                slug: p.slug,
                title: p.title,
                views: p.views,
            })
            .collect(),
        devices: Devices {
            desktop: count(DeviceClass::Desktop),
            mobile: count(DeviceClass::Mobile),
            tablet: count(DeviceClass::Tablet),
        },
        referrers: referrers
            .into_iter()
            .map(|(referrer, views)| Referrer { referrer, views })
            .collect(),
    })
}
