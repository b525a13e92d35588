//! Every store of the configuration, and the service each artifact belongs to.
//!
//! `[registry]` is the store of every service that names no other; `[registries.<name>]`
//! are the others. A push may carry tags of services on different stores (ECR images and
//! S3 zips): [`Stores::check`] gives each store its whole batch in one call and asks the
//! stores concurrently, one scoped thread per store, so a mixed push costs about what
//! the slowest store costs alone. Opening does no I/O; a store is only touched when it
//! is asked about something (a push without release tags initialises no SDK).

use std::collections::BTreeMap;

use super::{open_store, ArtifactRef, ArtifactStatus, FailureKind, Registry, RegistryFailure};
use crate::config::Config;

/// One artifact to check, with the service it belongs to (which picks the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// The configured service.
    pub service: String,
    /// Its artifact, as [`super::commit_artifact`] names it.
    pub artifact: ArtifactRef,
}

/// Shows that a check is waiting (a spinner in the binary; the library knows no UI).
pub trait Progress: Send + Sync {
    /// Runs `work`, showing `message` while it runs.
    fn around(&self, message: &str, work: &mut dyn FnMut());
}

/// The opened stores of a configuration.
pub struct Stores<'c> {
    config: &'c Config,
    /// `[registry]` first, then `[registries.<name>]` in name order; `None` for
    /// [`Stores::single`].
    stores: Vec<(Option<String>, Box<dyn Registry>)>,
    /// Every service goes to the first store (tests that script one store).
    single: bool,
    progress: Option<Box<dyn Progress>>,
}

impl std::fmt::Debug for Stores<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores")
            .field(
                "stores",
                &self
                    .stores
                    .iter()
                    .map(|(name, store)| (name.clone(), store.describe()))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl<'c> Stores<'c> {
    /// Opens every store of `config`; no I/O happens until a store is asked something.
    pub fn open(config: &'c Config) -> Stores<'c> {
        let mut stores: Vec<(Option<String>, Box<dyn Registry>)> =
            vec![(None, open_store(&config.registry, None))];
        for (name, store) in &config.registries {
            stores.push((Some(name.clone()), open_store(store, Some(name))));
        }
        Stores {
            config,
            stores,
            single: false,
            progress: None,
        }
    }

    /// One store for every service (tests that script a store's answers).
    pub fn single(config: &'c Config, store: Box<dyn Registry>) -> Stores<'c> {
        Stores {
            config,
            stores: vec![(None, store)],
            single: true,
            progress: None,
        }
    }

    /// Shows `progress` around every check.
    pub fn with_progress(mut self, progress: Box<dyn Progress>) -> Stores<'c> {
        self.progress = Some(progress);
        self
    }

    fn index_of(&self, service: &str) -> usize {
        if self.single {
            return 0;
        }
        match self.config.store_of(service).0 {
            Some(name) => self
                .stores
                .iter()
                .position(|(n, _)| n.as_deref() == Some(name))
                .unwrap_or(0),
            None => 0,
        }
    }

    /// The store of `service`.
    pub fn of(&self, service: &str) -> &dyn Registry {
        self.stores[self.index_of(service)].1.as_ref()
    }

    /// The name of `service`'s store (`None` for `[registry]`).
    pub fn name_of(&self, service: &str) -> Option<&str> {
        self.stores[self.index_of(service)].0.as_deref()
    }

    /// Answers for every artifact, in the order given: one batch per store, the stores
    /// asked concurrently.
    pub fn check(&self, wanted: &[Wanted]) -> Vec<ArtifactStatus> {
        let mut batches: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, w) in wanted.iter().enumerate() {
            batches
                .entry(self.index_of(&w.service))
                .or_default()
                .push(i);
        }
        let mut answers: Vec<Option<ArtifactStatus>> = wanted.iter().map(|_| None).collect();
        let mut work = || {
            let ask = |store: usize, indices: &Vec<usize>| {
                let artifacts: Vec<ArtifactRef> = indices
                    .iter()
                    .map(|&i| wanted[i].artifact.clone())
                    .collect();
                self.stores[store].1.check(&artifacts)
            };
            let results: Vec<(&Vec<usize>, Vec<ArtifactStatus>)> = if batches.len() <= 1 {
                // One store: ask on this thread, as before there were several.
                batches
                    .iter()
                    .map(|(&store, indices)| (indices, ask(store, indices)))
                    .collect()
            } else {
                std::thread::scope(|scope| {
                    let handles: Vec<_> = batches
                        .iter()
                        .map(|(&store, indices)| {
                            (indices, scope.spawn(move || ask(store, indices)))
                        })
                        .collect();
                    handles
                        .into_iter()
                        .map(|(indices, handle)| (indices, handle.join().unwrap_or_default()))
                        .collect()
                })
            };
            for (indices, statuses) in results {
                for (&i, status) in indices.iter().zip(statuses) {
                    answers[i] = Some(status);
                }
            }
        };
        match (&self.progress, wanted.is_empty()) {
            (Some(progress), false) => {
                let message = format!(
                    "checking {} artifact(s) in {}",
                    wanted.len(),
                    batches
                        .keys()
                        .map(|&store| self.stores[store].1.describe())
                        .collect::<Vec<_>>()
                        .join(" and ")
                );
                progress.around(&message, &mut work);
            }
            _ => work(),
        }
        // A store that answered short (or a thread that panicked) said nothing: fail
        // closed rather than take silence for presence.
        answers
            .into_iter()
            .zip(wanted)
            .map(|(answer, w)| {
                answer.unwrap_or_else(|| {
                    ArtifactStatus::Failed(RegistryFailure {
                        kind: FailureKind::Other,
                        message: format!(
                            "{} did not answer for {}",
                            self.of(&w.service).describe(),
                            crate::text::line(&w.artifact.to_string())
                        ),
                        hint: "retry; this should not happen".into(),
                    })
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ImageRef, NoRegistry, ObjectRef, PromoteRequest, Promotion};
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    /// A store that sleeps, then answers Missing, recording each batch.
    struct Slow {
        name: &'static str,
        calls: Arc<Mutex<Vec<(&'static str, usize)>>>,
    }

    impl Registry for Slow {
        fn describe(&self) -> String {
            self.name.into()
        }
        fn check(&self, artifacts: &[ArtifactRef]) -> Vec<ArtifactStatus> {
            std::thread::sleep(Duration::from_millis(300));
            self.calls
                .lock()
                .expect("lock")
                .push((self.name, artifacts.len()));
            artifacts.iter().map(|_| ArtifactStatus::Missing).collect()
        }
        fn promote(&self, _: &PromoteRequest) -> Result<Promotion, RegistryFailure> {
            Err(RegistryFailure {
                kind: FailureKind::Other,
                message: "not used".into(),
                hint: String::new(),
            })
        }
    }

    #[test]
    fn services_go_to_their_store_and_stores_are_asked_concurrently() {
        let config = Config::parse(
            "[registries.lambda]\nkind = \"s3\"\nbucket = \"zips\"\n\n[services.api]\npath = \"api\"\n\n[services.fn-a]\npath = \"fn-a\"\nregistry = \"lambda\"\n\n[services.fn-b]\npath = \"fn-b\"\nregistry = \"lambda\"\n",
            "t",
        )
        .expect("config");
        let calls = Arc::new(Mutex::new(Vec::new()));
        let mut stores = Stores::open(&config);
        stores.stores[0].1 = Box::new(Slow {
            name: "ecr",
            calls: calls.clone(),
        });
        stores.stores[1].1 = Box::new(Slow {
            name: "s3",
            calls: calls.clone(),
        });
        assert_eq!(stores.name_of("fn-a"), Some("lambda"));
        assert_eq!(stores.name_of("api"), None);
        let image = ArtifactRef::Image(ImageRef {
            repository: "api-image".into(),
            tag: "x".into(),
        });
        let object = |key: &str| {
            ArtifactRef::Object(ObjectRef {
                bucket: "zips".into(),
                key: key.into(),
            })
        };
        let wanted = vec![
            Wanted {
                service: "fn-a".into(),
                artifact: object("a"),
            },
            Wanted {
                service: "api".into(),
                artifact: image,
            },
            Wanted {
                service: "fn-b".into(),
                artifact: object("b"),
            },
        ];
        let started = Instant::now();
        let statuses = stores.check(&wanted);
        let took = started.elapsed();
        assert_eq!(statuses, vec![ArtifactStatus::Missing; 3]);
        let mut calls = calls.lock().expect("lock").clone();
        calls.sort();
        assert_eq!(calls, vec![("ecr", 1), ("s3", 2)], "one batch per store");
        assert!(
            took < Duration::from_millis(550),
            "two 300 ms stores took {took:?}: not concurrent"
        );
    }

    #[test]
    fn nothing_to_check_asks_no_store() {
        let config = Config::default();
        let stores = Stores::single(&config, Box::new(NoRegistry));
        assert!(stores.check(&[]).is_empty());
    }
}
