//! Thread links: each message-id (seen, or referenced but not yet seen) has a node with its
//! parent and the thread root as known when it was written. Children are indexed separately
//! so a whole thread can be walked down from its root.

use super::StoreError;
use super::codec::{Reader, Writer};

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
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u64(self.aid);
        match &self.parent {
            Some(p) => w.u8(1).bytes(p.as_bytes()),
            None => w.u8(0),
        };
        w.bytes(self.root.as_bytes());
        w.0
    }

    pub(crate) fn decode(b: &[u8]) -> Result<Self, StoreError> {
        let mut r = Reader::new(b);
        let aid = r.u64()?;
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
