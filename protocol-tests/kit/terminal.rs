//! Terminal programs (tin, slrn) driven under tmux.

use super::servers::wait_until;

/// A terminal program under tmux on its own socket, stopped (its tmux server) when dropped.
pub struct Terminal {
    socket: String,
}

impl Terminal {
    pub fn start(name: &str, command: &str) -> Terminal {
        let socket = format!("listnews-test-{name}-{}", std::process::id());
        let status = std::process::Command::new("tmux")
            .args(["-L", &socket, "new-session", "-d", "-x", "110", "-y", "20", command])
            .status()
            .expect("tmux (the README's test command installs it)");
        assert!(status.success());
        Terminal { socket }
    }

    pub fn screen(&self) -> String {
        let out =
            std::process::Command::new("tmux").args(["-L", &self.socket, "capture-pane", "-p"]).output().expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        std::process::Command::new("tmux").args(["-L", &self.socket, "send-keys"]).args(keys).status().expect("tmux");
    }

    /// Waits up to 20 s for `text` on the screen; returns the screen.
    pub fn wait_for(&self, text: &str) -> String {
        let mut screen = String::new();
        let seen = wait_until(20, || {
            screen = self.screen();
            screen.contains(text)
        });
        assert!(seen, "{text:?} never showed on the screen:\n{screen}");
        screen
    }

    /// Presses `key` until `text` shows (a program busy drawing may drop a key); returns the
    /// screen.
    pub fn press_until(&self, key: &str, text: &str) -> String {
        let mut screen = String::new();
        for _ in 0..4 {
            self.keys(&[key]);
            if wait_until(5, || {
                screen = self.screen();
                screen.contains(text)
            }) {
                return screen;
            }
        }
        panic!("{text:?} never showed on the screen after {key}:\n{screen}");
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux").args(["-L", &self.socket, "kill-server"]).status();
    }
}
