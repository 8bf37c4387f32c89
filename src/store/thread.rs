//! Thread links: each message-id (seen, or referenced but not yet seen) has a node with its
//! parent and the thread root as known when it was written. Children are indexed separately
//! so a whole thread can be walked down from its root.

use std::collections::HashSet;

use super::codec::{Reader, Writer};
use super::{Result, Store};

/// How far parent chains are followed; a References loop cannot make us spin.
pub const MAX_DEPTH: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadNode {
    /// The article holding this id; 0 for a placeholder (referenced, not seen yet).
    pub aid: u64,
    pub parent: Option<String>,
    /// The thread root when this node was last written; [`super::Store::thread_root`]
    /// resolves it further if that root has since found a parent.
    pub root: String,
}

impl ThreadNode {
    /// The record as formats up to 6 kept it under `T id` (tests build such stores).
    #[cfg(test)]
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u64(self.aid);
        self.encode_links(&mut w);
        w.0
    }

    /// The parent and root, without the article id (which an [`super::IdRecord`] holding
    /// the same id in its Message-ID entry does not repeat).
    pub(crate) fn encode_links(&self, w: &mut Writer) {
        match &self.parent {
            Some(p) => w.u8(1).bytes(p.as_bytes()),
            None => w.u8(0),
        };
        w.bytes(self.root.as_bytes());
    }

    pub(crate) fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        let aid = r.u64()?;
        Self::decode_links(&mut r, aid)
    }

    pub(crate) fn decode_links(r: &mut Reader<'_>, aid: u64) -> Result<Self> {
        let parent = match r.u8()? {
            1 => Some(r.str()?.to_string()),
            _ => None,
        };
        Ok(ThreadNode { aid, parent, root: r.str()?.to_string() })
    }

    pub fn is_placeholder(&self) -> bool {
        self.aid == 0
    }
}

/// A thread is cut off after this many messages (a References storm cannot exhaust memory).
pub const MAX_THREAD: usize = 100_000;

/// One message of a thread, in thread order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadEntry {
    pub message_id: String,
    pub parent: Option<String>,
    /// 0 for the root.
    pub depth: usize,
    /// The article; 0 for a placeholder (referenced, never seen).
    pub aid: u64,
}

impl Store {
    /// The whole thread `id` belongs to, depth-first from its root, children in arrival
    /// order (placeholders after articles). `None` if the id is unknown.
    pub fn thread(&self, id: &str) -> Result<Option<Vec<ThreadEntry>>> {
        let Some(root) = self.thread_root(id)? else { return Ok(None) };
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![(root, None::<String>, 0usize)];
        while let Some((message_id, parent, depth)) = stack.pop() {
            if out.len() >= MAX_THREAD || !seen.insert(message_id.clone()) {
                continue;
            }
            let aid = self.thread_node(&message_id)?.map_or(0, |n| n.aid);
            let mut children = Vec::new();
            for child in self.children(&message_id)? {
                let child_aid = self.thread_node(&child)?.map_or(0, |n| n.aid);
                children.push((child_aid == 0, child_aid, child));
            }
            children.sort();
            for (_, _, child) in children.into_iter().rev() {
                stack.push((child, Some(message_id.clone()), depth + 1));
            }
            out.push(ThreadEntry { message_id, parent, depth, aid });
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for node in [
            ThreadNode { aid: 7, parent: Some("<p@x>".into()), root: "<r@x>".into() },
            ThreadNode { aid: 0, parent: None, root: "<self@x>".into() },
        ] {
            assert_eq!(ThreadNode::decode(&node.encode()).unwrap(), node);
        }
        assert!(ThreadNode::decode(b"\0\0").is_err());
    }
}
