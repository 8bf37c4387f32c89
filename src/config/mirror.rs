//! A whole lore.kernel.org mirror in one config entry (`[[mirror]]`): every public-inbox
//! inbox under a grokmirror tree (`<list>/git/<N>.git`, perhaps with `manifest.js.gz`) served
//! as a group, found again while serving.
//!
//! A list's group name, in order: the `name` of its `[mirror.lists.<dir>]` override; the
//! `newsgroup` of the inbox's own config (`inbox.config.example`, which public-inbox-clone
//! writes beside the epochs: lore's names are not uniform, `lkml` is
//! `org.kernel.vger.linux-kernel`); else the mirror's `prefix` followed by the list address's
//! domain reversed and its local part (`selinux@vger.kernel.org` -> `org.kernel.vger.selinux`),
//! the address coming from the override, the inbox config, or the List-Id of the newest
//! message (`selinux.vger.kernel.org` -> `selinux@vger.kernel.org`); else `prefix` and the
//! directory name. Description, address and List-Id come from the same places and from
//! `description` files and the manifest. Two lists mapping to one name is an error.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{GroupConfig, valid_group_name};

/// `[[mirror]]`: a grokmirror tree of public-inbox inboxes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MirrorConfig {
    /// The mirror's root: `<root>/<list>/git/<N>.git`; relative to the config file's folder.
    pub path: PathBuf,
    /// Put before names made from a list address or a directory name (not before a name the
    /// inbox's config gives).
    #[serde(default)]
    pub prefix: String,
    /// Listed by LIST SUBSCRIPTIONS.
    #[serde(default)]
    pub subscribe: bool,
    /// Its lists accept posts (when the server's post_policy allows them).
    #[serde(default = "super::yes")]
    pub post: bool,
    /// Per list (by directory name): what to change.
    #[serde(default)]
    pub lists: BTreeMap<String, ListOverride>,
}

/// `[mirror.lists.<dir>]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListOverride {
    pub name: Option<String>,
    pub description: Option<String>,
    pub address: Option<String>,
    pub list_id: Option<String>,
    /// Do not serve this list.
    #[serde(default)]
    pub skip: bool,
    pub subscribe: Option<bool>,
    pub post: Option<bool>,
}

/// What the inbox's own files say of it.
#[derive(Debug, Default)]
struct InboxFacts {
    newsgroup: Option<String>,
    address: Option<String>,
    list_id: Option<String>,
    description: Option<String>,
    /// No message found to name the list by (an epoch being cloned, say): the list waits.
    unnamed_yet: bool,
}

/// The inboxes of a mirror: directory name -> inbox folder, from the manifest when there is
/// one and from the tree.
fn inboxes(root: &Path) -> std::io::Result<BTreeMap<String, PathBuf>> {
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let path = entry.path();
        if path.join("git").is_dir() && !crate::import::public_inbox::inbox_epochs(&path).is_empty() {
            found.insert(entry.file_name().to_string_lossy().into_owned(), path);
        }
    }
    // grokmirror's manifest names repositories as `/<list>/git/<N>.git`; a list it names whose
    // folder holds no epoch yet is not served until one arrives.
    for repo in manifest(root).keys() {
        let mut parts = repo.trim_start_matches('/').split('/');
        if let (Some(list), Some("git")) = (parts.next(), parts.next()) {
            let path = root.join(list);
            if !found.contains_key(list) && !crate::import::public_inbox::inbox_epochs(&path).is_empty() {
                found.insert(list.to_string(), path);
            }
        }
    }
    Ok(found)
}

/// grokmirror's `manifest.js.gz` (or `manifest.js`): repository -> description.
fn manifest(root: &Path) -> HashMap<String, String> {
    let mut text = String::new();
    let read = match std::fs::File::open(root.join("manifest.js.gz")) {
        Ok(f) => flate2::read::GzDecoder::new(f).read_to_string(&mut text).is_ok(),
        Err(_) => std::fs::read_to_string(root.join("manifest.js")).map(|t| text = t).is_ok(),
    };
    if !read {
        return HashMap::new();
    }
    let Ok(serde_json::Value::Object(repos)) = serde_json::from_str::<serde_json::Value>(&text) else {
        return HashMap::new();
    };
    repos
        .into_iter()
        .map(|(repo, meta)| {
            let description = meta.get("description").and_then(|d| d.as_str()).unwrap_or_default().to_string();
            (repo, description)
        })
        .collect()
}

/// `key = value` lines of a git-config file (the `[publicinbox "x"]` section's keys).
fn git_config(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if l.starts_with(['[', '#', ';']) {
                return None;
            }
            let (k, v) = l.split_once('=')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().trim_matches('"').to_string()))
        })
        .collect()
}

fn facts(inbox: &Path, dir: &str, described: &HashMap<String, String>) -> InboxFacts {
    let mut facts = InboxFacts::default();
    if let Ok(text) = std::fs::read_to_string(inbox.join("inbox.config.example")) {
        let config = git_config(&text);
        facts.newsgroup = config.get("newsgroup").cloned();
        facts.address = config.get("address").cloned();
        facts.list_id = config.get("listid").cloned();
    }
    let useful = |d: &str| {
        let d = d.trim();
        (!d.is_empty() && !d.starts_with("Unnamed repository")).then(|| d.to_string())
    };
    facts.description = std::fs::read_to_string(inbox.join("description"))
        .ok()
        .and_then(|d| useful(&d))
        .or_else(|| described.get(&format!("/{dir}/git/0.git")).and_then(|d| useful(d)))
        .or_else(|| std::fs::read_to_string(inbox.join("git/0.git/description")).ok().and_then(|d| useful(&d)));
    if facts.list_id.is_none() && facts.address.is_none() && facts.newsgroup.is_none() {
        match newest_list_id(inbox) {
            Some(list_id) => facts.list_id = list_id,
            None => facts.unnamed_yet = true,
        }
    }
    facts
}

/// The List-Id of the newest message of the inbox's last epoch; `None` when there is no
/// message to read yet.
fn newest_list_id(inbox: &Path) -> Option<Option<String>> {
    let epoch = crate::import::public_inbox::inbox_epochs(inbox).pop()?;
    let raw = crate::import::public_inbox::newest_message(&epoch)?;
    Some(crate::import::message::Message::parse(&raw).ok().and_then(|msg| msg.list_ids.into_iter().next()))
}

/// `selinux@vger.kernel.org` -> `org.kernel.vger.selinux`.
fn name_from_address(address: &str) -> Option<String> {
    let (local, domain) = address.trim().trim_start_matches('<').trim_end_matches('>').split_once('@')?;
    let mut labels: Vec<&str> = domain.split('.').filter(|l| !l.is_empty()).collect();
    labels.reverse();
    labels.push(local);
    let name: String = labels
        .join(".")
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "._+-".contains(c) { c } else { '-' })
        .collect();
    valid_group_name(&name).then_some(name)
}

/// `selinux.vger.kernel.org` -> `selinux@vger.kernel.org`.
fn address_from_list_id(list_id: &str) -> Option<String> {
    let (local, domain) = list_id.split_once('.')?;
    domain.contains('.').then(|| format!("{local}@{domain}"))
}

/// The groups a mirror serves now, or the reason it cannot be served. A list in `known` (the
/// same inbox folder) is taken from there without reading its files again.
pub fn groups(mirror: &MirrorConfig, known: &[GroupConfig]) -> Result<Vec<GroupConfig>, String> {
    let inboxes = inboxes(&mirror.path).map_err(|e| format!("cannot read {}: {e}", mirror.path.display()))?;
    // Read only when a new list needs it: a lore manifest names thousands of repositories.
    let mut described = None;
    let mut out = Vec::new();
    for (dir, path) in inboxes {
        let over = mirror.lists.get(&dir).cloned().unwrap_or_default();
        if over.skip {
            continue;
        }
        if let Some(k) = known.iter().find(|k| k.inbox.as_deref() == Some(dir.as_str()) && k.watch == [path.clone()]) {
            out.push(k.clone());
            continue;
        }
        let facts = facts(&path, &dir, described.get_or_insert_with(|| manifest(&mirror.path)));
        if facts.unnamed_yet && over.name.is_none() && over.list_id.is_none() && over.address.is_none() {
            // Nothing names it yet (no inbox config and no message: a list being cloned).
            // Named now it would keep the folder's name for good; the next rescan looks
            // again.
            continue;
        }
        let list_id = over.list_id.clone().or(facts.list_id);
        let address =
            over.address.clone().or(facts.address).or_else(|| list_id.as_deref().and_then(address_from_list_id));
        let name = over
            .name
            .clone()
            .or(facts.newsgroup)
            .or_else(|| address.as_deref().and_then(name_from_address).map(|n| format!("{}{n}", mirror.prefix)))
            .unwrap_or_else(|| format!("{}{dir}", mirror.prefix));
        if !valid_group_name(&name) {
            return Err(format!(
                "list {dir:?} would be group {name:?}, which is not a valid newsgroup name; fix: set [mirror.lists.{dir}] name = \"…\""
            ));
        }
        out.push(GroupConfig {
            name,
            description: over.description.or(facts.description).unwrap_or_default(),
            address: address.map(|a| a.trim().to_ascii_lowercase()),
            list_id: list_id.map(|l| l.trim().trim_start_matches('<').trim_end_matches('>').to_ascii_lowercase()),
            subscribe: over.subscribe.unwrap_or(mirror.subscribe),
            watch: vec![path],
            pull: None,
            pull_ca: None,
            replica: false,
            readers: Vec::new(),
            inbox: Some(dir),
            post: over.post.unwrap_or(mirror.post),
            http_name: None,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_addresses_and_list_ids() {
        assert_eq!(name_from_address("selinux@vger.kernel.org").as_deref(), Some("org.kernel.vger.selinux"));
        assert_eq!(name_from_address("<Linux-MM@kvack.org>").as_deref(), Some("org.kvack.linux-mm"));
        assert_eq!(address_from_list_id("selinux.vger.kernel.org").as_deref(), Some("selinux@vger.kernel.org"));
        assert_eq!(address_from_list_id("localhost"), None);
        let config = git_config(
            "[publicinbox \"lkml\"]\n\taddress = linux-kernel@vger.kernel.org\n\tnewsgroup = org.kernel.vger.linux-kernel\n",
        );
        assert_eq!(config["newsgroup"], "org.kernel.vger.linux-kernel");
        assert_eq!(config["address"], "linux-kernel@vger.kernel.org");
    }
}
