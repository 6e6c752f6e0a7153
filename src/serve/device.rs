//! User agent → device class: `isbot` for bots and crawlers, `woothee` for phones and
//! desktops, plus the tablet class woothee lacks (iPad, Android without "Mobile", and the like).

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use crate::store::views::DeviceClass;

/// What a user agent is, for counting views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// A person's browser on this kind of device.
    Person(DeviceClass),
    /// A bot, crawler, or a client that does not say what it is: not counted.
    Bot,
}

fn bots() -> &'static isbot::Bots {
    static BOTS: OnceLock<isbot::Bots> = OnceLock::new();
    BOTS.get_or_init(isbot::Bots::default)
}

/// Classifies a user agent. An empty agent counts as a bot (browsers always send one).
pub fn classify(user_agent: &str) -> Device {
    let ua = user_agent.trim();
    if ua.is_empty() || bots().is_bot(ua) {
        return Device::Bot;
    }
    if is_tablet(ua) {
        return Device::Person(DeviceClass::Tablet);
    }
    match woothee::parser::Parser::new().parse(ua) {
        Some(r) if r.category == "crawler" => Device::Bot,
        Some(r) if r.category == "smartphone" || r.category == "mobilephone" => {
            Device::Person(DeviceClass::Mobile)
        }
        _ => Device::Person(DeviceClass::Desktop),
    }
}

/// Remembers the class of the agents seen (a server sees few distinct agents, and classifying
/// one takes regex matching); forgets everything once it holds `CACHE_SIZE` agents.
#[derive(Default)]
pub struct Classifier {
    seen: RwLock<HashMap<String, Device>>,
}

const CACHE_SIZE: usize = 4096;

impl Classifier {
    pub fn classify(&self, user_agent: &str) -> Device {
        if let Some(d) = self.seen.read().unwrap().get(user_agent) {
            return *d;
        }
        let d = classify(user_agent);
        let mut seen = self.seen.write().unwrap();
        if seen.len() >= CACHE_SIZE {
            seen.clear();
        }
        seen.insert(user_agent.to_string(), d);
        d
    }
}

/// iPads, Android devices whose browser does not say "Mobile", Kindles and PlayBooks.
fn is_tablet(ua: &str) -> bool {
    ua.contains("iPad")
        || (ua.contains("Android") && !ua.contains("Mobile"))
        || ua.contains("Kindle")
        || ua.contains("Silk/")
        || ua.contains("PlayBook")
        || ua.contains("Tablet")
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const DESKTOP: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    pub const PHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
    pub const ANDROID_PHONE: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36";
    pub const IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
    pub const ANDROID_TABLET: &str = "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    pub const BOT: &str =
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

    #[test]
    fn classes_of_common_agents() {
        assert_eq!(classify(DESKTOP), Device::Person(DeviceClass::Desktop));
        assert_eq!(classify(PHONE), Device::Person(DeviceClass::Mobile));
        assert_eq!(classify(ANDROID_PHONE), Device::Person(DeviceClass::Mobile));
        assert_eq!(classify(IPAD), Device::Person(DeviceClass::Tablet));
        assert_eq!(
            classify(ANDROID_TABLET),
            Device::Person(DeviceClass::Tablet)
        );
        assert_eq!(classify(BOT), Device::Bot);
        assert_eq!(classify("curl/8.5.0"), Device::Bot);
        assert_eq!(classify(""), Device::Bot);
        let c = Classifier::default();
        assert_eq!(c.classify(IPAD), Device::Person(DeviceClass::Tablet));
        assert_eq!(c.classify(IPAD), Device::Person(DeviceClass::Tablet));
    }
}
