//! Delivery of a post: by SMTP to a relay (plain, STARTTLS or implicit TLS, optional SMTP
//! AUTH; lettre on rustls) or through a sendmail-compatible program; and the DMARC lookup that
//! decides whether From is rewritten.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hickory_resolver::TokioResolver;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSendmailTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{MailOptions, Outgoing};
use crate::config::{FromRewrite, RelaySecurity, RelayUrl, ServerConfig};

/// An SMTP conversation (connect, TLS, AUTH, the mail) may take this long.
const SMTP_TIMEOUT: Duration = Duration::from_secs(60);
/// A DMARC answer is kept this long.
const DMARC_TTL: Duration = Duration::from_secs(3600);
/// At most this many domains' DMARC answers are kept.
const DMARC_CACHE: usize = 10_000;

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Sendmail(AsyncSendmailTransport<Tokio1Executor>),
}

/// Where posts go, and how their From is written.
pub struct Relay {
    transport: Transport,
    /// What the log and errors call the relay.
    pub describe: String,
    envelope_from: Option<Address>,
    rewrite: FromRewrite,
    from_address: String,
    hostname: String,
    dmarc: Option<Dmarc>,
}

/// The relay's answer to a delivered post.
pub struct Delivered {
    /// The mail as sent.
    pub mail: Vec<u8>,
    /// The From was rewritten.
    pub rewritten: bool,
    /// The relay's reply (`250 …`), or what the sendmail program reported.
    pub reply: String,
}

impl Relay {
    /// The relay the configuration names; `None` when posting is off.
    pub fn new(server: &ServerConfig) -> Result<Option<Relay>, String> {
        let Some(url) = &server.post_relay else { return Ok(None) };
        let url = RelayUrl::parse(url).map_err(|why| format!("post_relay {url:?}: {why}"))?;
        let (transport, describe) = match &url {
            RelayUrl::Sendmail(path) => (
                Transport::Sendmail(AsyncSendmailTransport::<Tokio1Executor>::new_with_command(path)),
                format!("sendmail:{}", path.display()),
            ),
            RelayUrl::Smtp { host, port, security } => {
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
                    .port(*port)
                    .timeout(Some(SMTP_TIMEOUT))
                    .hello_name(ClientId::Domain(server.hostname.clone()));
                if *security != RelaySecurity::Plain {
                    let mut tls = TlsParameters::builder(host.clone());
                    if let Some(ca) = &server.post_relay_ca {
                        let pem = std::fs::read(ca).map_err(|e| format!("post_relay_ca {}: {e}", ca.display()))?;
                        let cert =
                            Certificate::from_pem(&pem).map_err(|e| format!("post_relay_ca {}: {e}", ca.display()))?;
                        tls = tls
                            .certificate_store(lettre::transport::smtp::client::CertificateStore::None)
                            .add_root_certificate(cert);
                    }
                    let tls = tls.build_rustls().map_err(|e| format!("post_relay TLS: {e}"))?;
                    builder = builder.tls(if *security == RelaySecurity::Tls {
                        Tls::Wrapper(tls)
                    } else {
                        Tls::Required(tls)
                    });
                }
                if let (Some(user), Some(file)) = (&server.post_relay_user, &server.post_relay_password_file) {
                    let password = std::fs::read_to_string(file)
                        .map_err(|e| format!("post_relay_password_file {}: {e}", file.display()))?;
                    builder = builder.credentials(Credentials::new(user.clone(), password.trim_end().to_string()));
                }
                let scheme = match security {
                    RelaySecurity::Plain => "smtp",
                    RelaySecurity::StartTls => "smtp+starttls",
                    RelaySecurity::Tls => "smtps",
                };
                (Transport::Smtp(builder.build()), format!("{scheme}://{host}:{port}"))
            }
        };
        let envelope_from = match &server.post_envelope_from {
            Some(a) => Some(a.parse::<Address>().map_err(|e| format!("post_envelope_from {a:?}: {e}"))?),
            None => None,
        };
        // Without a resolver (no usable resolv.conf) every lookup counts as failed: From is
        // rewritten, which always arrives.
        let dmarc = match server.post_from_rewrite {
            FromRewrite::Dmarc => match Dmarc::new(server.post_dns) {
                Ok(d) => Some(d),
                Err(e) => {
                    tracing::warn!(error = %e, "post: no DNS resolver for DMARC lookups; every From will be rewritten");
                    None
                }
            },
            _ => None,
        };
        Ok(Some(Relay {
            transport,
            describe,
            envelope_from,
            rewrite: server.post_from_rewrite,
            from_address: server.post_from_address.clone().unwrap_or_else(|| format!("noreply@{}", server.hostname)),
            hostname: server.hostname.clone(),
            dmarc,
        }))
    }

    /// Sends the post as one mail to its lists. `Ok` only once the relay accepted it (SMTP
    /// `250` after the data; sendmail exiting 0).
    pub async fn deliver(&self, post: &Outgoing, now: i64) -> Result<Delivered, String> {
        let rewritten = match self.rewrite {
            FromRewrite::Always => true,
            FromRewrite::Never => false,
            FromRewrite::Dmarc => match &self.dmarc {
                Some(dmarc) => dmarc.strict(&post.poster.domain()).await,
                None => true,
            },
        };
        let mail = post.mail(&MailOptions {
            hostname: &self.hostname,
            rewrite_from: rewritten.then_some(self.from_address.as_str()),
            now,
        });
        let from = match &self.envelope_from {
            Some(a) => a.clone(),
            None => post
                .poster
                .address
                .parse::<Address>()
                .map_err(|e| format!("the poster's address {:?}: {e}", post.poster.address))?,
        };
        let to = post
            .lists
            .iter()
            .map(|l| l.parse::<Address>().map_err(|e| format!("list address {l:?}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let envelope = Envelope::new(Some(from), to).map_err(|e| format!("envelope: {e}"))?;
        let reply = match &self.transport {
            Transport::Smtp(smtp) => {
                // lettre ends the data with CRLF . CRLF itself.
                let data = mail.strip_suffix(b"\r\n").unwrap_or(&mail);
                let response = smtp.send_raw(&envelope, data).await.map_err(|e| e.to_string())?;
                let text: Vec<&str> = response.message().collect();
                format!("{} {}", response.code(), text.join(" "))
            }
            Transport::Sendmail(sendmail) => {
                sendmail.send_raw(&envelope, &mail).await.map_err(|e| e.to_string().trim().to_string())?;
                "sendmail accepted it".into()
            }
        };
        Ok(Delivered { mail, rewritten, reply })
    }
}

/// DMARC policies (RFC 7489 §6.1: the `_dmarc` TXT record), looked up with a cache.
struct Dmarc {
    resolver: TokioResolver,
    cache: Mutex<HashMap<String, (bool, Instant)>>,
}

impl Dmarc {
    fn new(server: Option<std::net::SocketAddr>) -> Result<Dmarc, String> {
        use hickory_resolver::config::{NameServerConfig, ResolverConfig};
        use hickory_resolver::net::runtime::TokioRuntimeProvider;
        let mut builder = match server {
            Some(addr) => {
                let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                for c in &mut ns.connections {
                    c.port = addr.port();
                }
                TokioResolver::builder_with_config(
                    ResolverConfig::from_name_servers(vec![ns]),
                    TokioRuntimeProvider::default(),
                )
            }
            None => TokioResolver::builder_tokio().map_err(|e| format!("DNS resolver (for DMARC lookups): {e}"))?,
        };
        builder.options_mut().timeout = Duration::from_secs(3);
        builder.options_mut().attempts = 1;
        let resolver = builder.build().map_err(|e| format!("DNS resolver (for DMARC lookups): {e}"))?;
        Ok(Dmarc { resolver, cache: Mutex::new(HashMap::new()) })
    }

    /// Does `domain` (or its organisational domain) ask receivers to quarantine or reject
    /// mail that fails DMARC? A failed lookup counts as yes: a rewritten From always arrives.
    async fn strict(&self, domain: &str) -> bool {
        if let Some((strict, when)) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(domain)
            && when.elapsed() < DMARC_TTL
        {
            return *strict;
        }
        let strict = match self.policy(domain).await {
            Ok(Some(policy)) => policy != "none",
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(domain, error = %e, "post: DMARC lookup failed; rewriting From");
                true
            }
        };
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= DMARC_CACHE {
            cache.retain(|_, (_, when)| when.elapsed() < DMARC_TTL);
            if cache.len() >= DMARC_CACHE {
                cache.clear();
            }
        }
        cache.insert(domain.to_string(), (strict, Instant::now()));
        strict
    }

    /// The policy (`p=`, or `sp=` of the organisational domain for a subdomain) published for
    /// `domain`; `None` when there is no DMARC record.
    async fn policy(&self, domain: &str) -> Result<Option<String>, String> {
        if let Some(record) = self.record(domain).await? {
            return Ok(tag(&record, "p"));
        }
        // The organisational domain, approximated as the last two labels (RFC 7489 §3.2 uses
        // the public suffix list; a miss here only means no rewrite).
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() > 2 {
            let org = labels[labels.len() - 2..].join(".");
            if let Some(record) = self.record(&org).await? {
                return Ok(tag(&record, "sp").or_else(|| tag(&record, "p")));
            }
        }
        Ok(None)
    }

    async fn record(&self, domain: &str) -> Result<Option<String>, String> {
        let name = format!("_dmarc.{domain}.");
        match self.resolver.txt_lookup(name.as_str()).await {
            Ok(found) => Ok(found.answers().iter().find_map(|record| {
                let hickory_resolver::proto::rr::RData::TXT(txt) = &record.data else { return None };
                let text: String = txt.txt_data.iter().map(|part| String::from_utf8_lossy(part)).collect();
                text.trim_start().to_ascii_lowercase().starts_with("v=dmarc1").then_some(text)
            })),
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The value of `tag` in a DMARC record (`v=DMARC1; p=reject; …`), lower case.
fn tag(record: &str, tag: &str) -> Option<String> {
    record.split(';').find_map(|part| {
        let (k, v) = part.split_once('=')?;
        (k.trim().eq_ignore_ascii_case(tag)).then(|| v.trim().to_ascii_lowercase())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn dmarc_tags_are_read() {
        let r = "v=DMARC1; p=reject; sp=none; rua=mailto:d@example.org";
        assert_eq!(super::tag(r, "p").as_deref(), Some("reject"));
        assert_eq!(super::tag(r, "sp").as_deref(), Some("none"));
        assert_eq!(super::tag(r, "pct"), None);
    }
}
