//! `git release <service>`: choose the next version, check everything, create the
//! annotated tag, push it.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Once;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;
use monorel_core::check::{judge_registry_failure, RegistryVerdict};
use monorel_core::config::RegistryKind;
use monorel_core::plan::{
    self, Analysis, NothingToRelease, PlanError, PushError, ReleasePlan, RemoteState, VersionChoice,
};
use monorel_core::registry::{self, ArtifactStatus};
use monorel_core::text;
use monorel_core::Bump;
use serde::Serialize;

use super::Context;
use crate::error::{CliError, CliResult, Kind};
use crate::ui::{self, Style};

/// Arguments of `git release <service>`.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// The service to release, as named under [services] in git-release.toml
    pub service: Option<String>,
    /// How to bump the version; without it, a terminal prompt suggests one from the commits
    #[arg(long, value_parser = bump_parser())]
    pub bump: Option<Bump>,
    /// Make a pre-release with this identifier (`--bump minor --pre rc` gives X.Y.0-rc.1)
    #[arg(long, value_name = "ID")]
    pub pre: Option<String>,
    /// Release exactly this version instead of bumping
    #[arg(long, value_name = "X.Y.Z", conflicts_with_all = ["bump", "pre"])]
    pub set_version: Option<String>,
    /// The commit to release [default: HEAD]
    #[arg(long, value_name = "REV")]
    pub commit: Option<String>,
    /// Push the new tag (only that tag) to the remote
    #[arg(long)]
    pub push: bool,
    /// The remote to compare with and push to [default: [defaults] remote, else origin]
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result as JSON on stdout
    #[arg(long)]
    pub json: bool,
    /// The tag message's first paragraph [default: "<service> version <version>"]
    #[arg(short = 'm', long, value_name = "MESSAGE")]
    pub message: Option<String>,
    /// Do not ask the remote for its tags
    #[arg(long)]
    pub offline: bool,
    /// Release even if the service's directory has uncommitted changes
    #[arg(long)]
    pub allow_dirty: bool,
    /// Release even if nothing changed: no commit touched the service since its last
    /// release, or the commit is released already
    #[arg(long)]
    pub allow_empty: bool,
}

/// The `--bump` parser, shared with `next`.
pub fn bump_parser() -> impl TypedValueParser<Value = Bump> {
    PossibleValuesParser::new(Bump::ALL.map(Bump::as_str))
        .map(|s| s.parse::<Bump>().expect("possible values are valid bumps"))
}

/// How many commits the prompt and the dry run list before "… and N more".
const SHOWN_COMMITS: usize = 15;

#[derive(Serialize)]
struct Outcome<'a> {
    #[serde(flatten)]
    plan: &'a ReleasePlan,
    dry_run: bool,
    created: bool,
    pushed: bool,
}

/// Runs `git release <service>`.
pub fn run(dir: &Path, args: ReleaseArgs) -> CliResult {
    let Some(service) = args.service.clone() else {
        return Err(CliError::new(
            Kind::Usage,
            "name the service to release, like `git release service-a --bump patch`",
        ));
    };
    let ctx = Context::load(dir)?;
    ctx.config.service(&service)?;
    let remote = args
        .remote
        .clone()
        .unwrap_or_else(|| ctx.config.defaults.remote.clone());

    let tags_head = args.commit.as_deref().is_none_or(|c| c == "HEAD");
    if tags_head && !args.dry_run {
        plan::check_work_tree(&ctx.repo, &ctx.config, &service, args.allow_dirty)?;
    }
    let analysis = plan::analyze(&ctx.repo, &ctx.config, &service, args.commit.as_deref())?;
    // `--commit main` on main is HEAD too: the work tree matters just the same.
    if !tags_head && !args.dry_run {
        let head = ctx
            .repo
            .resolve_commit("HEAD")
            .ok()
            .map(|id| id.to_string());
        if head.as_deref() == Some(analysis.commit.as_str()) {
            plan::check_work_tree(&ctx.repo, &ctx.config, &service, args.allow_dirty)?;
        }
    }

    let remote_tags = if args.offline {
        Vec::new()
    } else {
        let (state, names) = ui::with_spinner("reading the remote's tags", || {
            plan::remote_state(
                &ctx.repo,
                &ctx.config,
                &remote,
                &service,
                analysis.current.as_ref(),
            )
        });
        match state {
            RemoteState::Ahead { remote_tag } => {
                return Err(PlanError::RemoteAhead {
                    remote,
                    remote_tag,
                    local: analysis.current.as_ref().map(|c| c.tag.clone()),
                }
                .into())
            }
            // The push would fail after the tag is created: stop while nothing is written.
            RemoteState::Unavailable { reason } if args.push => {
                return Err(CliError::new(
                    Kind::Unavailable,
                    format!("cannot read remote `{}` ({}), so --push would fail after creating the tag; nothing was created: fix the remote (`git remote -v`), choose one with --remote, or drop --push", text::line(&remote), text::line(&reason)),
                ))
            }
            RemoteState::Unavailable { reason } => ui::warn(&format!(
                "could not read the tags of remote `{}`, going on with local tags only ({}); pass --offline to skip this check",
                text::line(&remote),
                text::line(&reason)
            )),
            RemoteState::UpToDate { missing_locally } if !missing_locally.is_empty() => ui::warn(&format!(
                "remote `{}` has releases you do not have locally ({}); run {}",
                text::line(&remote),
                text::line(&missing_locally.join(", ")),
                text::suggest(&text::operands(&["git", "fetch", "--tags"], &[&remote]))
            )),
            RemoteState::UpToDate { .. } | RemoteState::Skipped => {}
        }
        names
    };

    let interactive = !args.json && ui::can_prompt();
    let choice = match (&args.set_version, args.bump) {
        (Some(version), _) => VersionChoice::Exact(version.clone()),
        (None, Some(bump)) => VersionChoice::Bump {
            bump,
            pre: args.pre.clone(),
        },
        (None, None) if interactive => prompt_for_version(&ctx, &analysis, &args)?,
        (None, None) => {
            let why = if args.json {
                "--json does not prompt"
            } else {
                "no terminal to ask on"
            };
            let suggestion = match analysis.nothing_to_release(&ctx.repo, &ctx.config, None)? {
                Some(reason) => format!("{reason}, so there is no suggestion"),
                None => format!("the commits suggest --bump {}", analysis.suggestion),
            };
            return Err(CliError::new(
                Kind::Usage,
                format!(
                    "no --bump given and {why}; pass --bump major|minor|patch|prerelease|release ({suggestion})"
                ),
            ));
        }
    };

    let push_to = args.push.then(|| remote.clone());
    let mut plan = ReleasePlan::new(
        &ctx.repo,
        &ctx.config,
        &analysis,
        &choice,
        args.message.as_deref(),
        push_to,
        args.allow_empty,
    )?;
    if remote_tags.contains(&plan.tag) {
        return Err(PlanError::TagOnRemote {
            tag: plan.tag.clone(),
            remote,
        }
        .into());
    }
    verify_image(&ctx, &mut plan)?;

    if args.dry_run {
        return finish(&args, &plan, &remote, false, false);
    }
    if interactive && !args.yes && !confirm(&plan)? {
        return Err(CliError::new(
            Kind::Cancelled,
            "cancelled; nothing was created",
        ));
    }
    let created = plan.create(&ctx.repo)?;
    plan.push_created(&ctx.repo, &ctx.config, created)
        .map_err(|e| push_failed(&remote, &plan, e))?;
    finish(&args, &plan, &remote, true, plan.push_to.is_some())
}

/// Explains a failed push of the tag this run created.
fn push_failed(remote: &str, plan: &ReleasePlan, error: PushError) -> CliError {
    match error {
        PushError::LostRace { ref remote, .. } => {
            let fetch: Vec<&str> = text::operands(&["git", "fetch", "--tags"], &[remote]);
            let hint = format!(
                "run {}, then release again: the next version will be above theirs",
                text::suggest(&fetch)
            );
            CliError::new(Kind::Refused, error.to_string()).hint(hint)
        }
        PushError::Failed(e) => CliError::from(e).hint(format!(
            "the tag {} was created locally; once the cause above is fixed, push it with {}",
            text::line(&plan.tag),
            text::suggest(&push_command(remote, &plan.tag))
        )),
    }
}

/// Asks the service's store whether the commit's artifact exists; records its identity
/// (image digest, or object checksum, ETag and version) in the plan and the tag message.
fn verify_image(ctx: &Context, plan: &mut ReleasePlan) -> Result<(), CliError> {
    if ctx.config.store_of(&plan.service).1.kind == RegistryKind::None {
        ctx.warn_if_unchecked();
        return Ok(());
    }
    let stores = registry::Stores::open(&ctx.config);
    let store = stores.of(&plan.service);
    let artifact = plan.artifact.clone();
    let noun = artifact.noun();
    let shown = text::line(&artifact.to_string()).into_owned();
    let status = ui::with_spinner(&format!("checking {shown} in {}", store.describe()), || {
        store
            .check(std::slice::from_ref(&artifact))
            .pop()
            .unwrap_or(ArtifactStatus::Unchecked)
    });
    plan.record_artifact(&status);
    let (built, upload) = match artifact {
        registry::ArtifactRef::Image(_) => ("builds and pushes the image", "an image"),
        registry::ArtifactRef::Object(_) => ("builds and uploads the object", "an object"),
    };
    match status {
        ArtifactStatus::Present(_) | ArtifactStatus::Unchecked => Ok(()),
        ArtifactStatus::Missing => Err(CliError::new(
            Kind::Refused,
            format!("no {noun} {shown} in {}: CI has not built commit {} of {}", text::line(&store.describe()), short(&plan.commit), text::line(&plan.service)),
        )
        .hint(format!("CI {built} on every push to main; wait for that workflow to finish, or release a commit that has {upload} with --commit"))),
        // The same judgement as the hook's and `check`'s: a missing repository refuses
        // (exit 1), "could not ask" refuses as unavailable (exit 4) unless
        // `[hook] on-registry-error = "warn"` lets it through.
        ArtifactStatus::Failed(failure) => match judge_registry_failure(&ctx.config, failure.kind) {
            RegistryVerdict::Warn => {
                let record = if noun == "image" { "digest" } else { "identity" };
                ui::warn(&format!(
                    "cannot check {noun} {shown}: {}; {} (going on: [hook] on-registry-error = \"warn\"; the tag message records no {record})",
                    text::line(&failure.message), text::line(&failure.hint)
                ));
                Ok(())
            }
            RegistryVerdict::Absent => Err(CliError::new(
                Kind::Refused,
                format!("no {noun} {shown} in {}: {}", text::line(&store.describe()), text::line(&failure.message)),
            )
            .hint(text::line(&failure.hint))),
            RegistryVerdict::Unavailable => Err(CliError::new(
                Kind::Unavailable,
                format!("cannot check {noun} {shown}: {}", text::line(&failure.message)),
            )
            .hint(text::line(&failure.hint))),
        },
    }
}

fn prompt_for_version(
    ctx: &Context,
    analysis: &Analysis,
    args: &ReleaseArgs,
) -> Result<VersionChoice, CliError> {
    let pre = args.pre.as_deref();
    let style = Style::stderr();
    let current = analysis.current.as_ref();
    // The service's path and its shared paths: the commits of all of them were looked at.
    let paths = ctx.config.paths_of(ctx.config.service(&analysis.service)?);
    let service_path = paths
        .prefixes
        .iter()
        .chain(&paths.globs)
        .map(|p| text::line(p).into_owned())
        .collect::<Vec<_>>()
        .join(", ");
    // With nothing to release there is no suggestion: the commits call for nothing.
    let empty = analysis.nothing_to_release(&ctx.repo, &ctx.config, None)?;
    match (current, &empty) {
        (Some(c), Some(NothingToRelease::NoChanges { .. })) => eprintln!(
            "{} is at {}; no changes since {}: no commit touched {} since",
            text::line(&analysis.service),
            style.strong(&text::line(&c.tag)),
            text::line(&c.tag),
            service_path
        ),
        (Some(c), Some(reason)) => eprintln!(
            "{} is at {}; {}",
            text::line(&analysis.service),
            style.strong(&text::line(&c.tag)),
            text::line(&reason.to_string())
        ),
        (Some(c), None) => eprintln!(
            "{} is at {}; {} commit(s) touched {} since:",
            text::line(&analysis.service),
            style.strong(&text::line(&c.tag)),
            analysis.commits.len(),
            service_path
        ),
        (None, _) => eprintln!(
            "{} has no release yet; {} commit(s) touched {}:",
            text::line(&analysis.service),
            analysis.commits.len(),
            service_path
        ),
    }
    for commit in analysis.commits.iter().take(SHOWN_COMMITS) {
        eprintln!(
            "  {} {}",
            style.dim(&text::line(commit.short_id())),
            text::line(&commit.subject)
        );
    }
    if analysis.commits.len() > SHOWN_COMMITS {
        eprintln!("  … and {} more", analysis.commits.len() - SHOWN_COMMITS);
    }
    // Several bumps can produce the same version (a first release is `initial-version`
    // whatever the bump; major, minor, patch and release of 2.0.0-rc.1 are all 2.0.0):
    // list each version once, under the suggested bump if it is one of them, else under
    // the last bump that gives it (`release` for a pre-release's own version).
    let mut options: Vec<(Bump, monorel_core::semver::Version)> = Vec::new();
    for bump in Bump::ALL {
        let Ok(version) = analysis.next_for(&ctx.config, bump, pre) else {
            continue;
        };
        // Only what the empty-release rule allows (finalising a pre-release), unless
        // --allow-empty.
        if empty.is_some()
            && !args.allow_empty
            && analysis
                .nothing_to_release(&ctx.repo, &ctx.config, Some(&version))?
                .is_some()
        {
            continue;
        }
        match options.iter_mut().find(|(_, v)| *v == version) {
            Some(slot) if slot.0 != analysis.suggestion => slot.0 = bump,
            Some(_) => {}
            None => options.push((bump, version)),
        }
    }
    if let (Some(reason), true) = (&empty, options.is_empty()) {
        return Err(PlanError::NothingToRelease {
            service: analysis.service.clone(),
            reason: reason.clone(),
        }
        .into());
    }
    if options.is_empty() {
        return Err(CliError::new(
            Kind::Refused,
            "no bump produces a valid next version; pass --set-version",
        ));
    }
    let suggested = empty.is_none().then_some(analysis.suggestion);
    let items: Vec<String> = options
        .iter()
        .map(|(bump, version)| {
            let mark = if Some(*bump) == suggested {
                "  (suggested by the commits)"
            } else {
                ""
            };
            format!("{:<11} {version}{mark}", bump.as_str())
        })
        .collect();
    let default = options
        .iter()
        .position(|(b, _)| Some(*b) == suggested)
        .unwrap_or(0);
    let picked = prompting(|| {
        dialoguer::Select::new()
            .with_prompt(format!("Next version of {}", text::line(&analysis.service)))
            .items(&items)
            .default(default)
            .interact_opt()
    })
    .map_err(prompt_error)?;
    match picked {
        Some(index) => Ok(VersionChoice::Bump {
            bump: options[index].0,
            pre: pre.map(str::to_string),
        }),
        None => Err(CliError::new(
            Kind::Cancelled,
            "cancelled; nothing was created",
        )),
    }
}

fn confirm(plan: &ReleasePlan) -> Result<bool, CliError> {
    let push = plan.push_to.as_deref().map_or(String::new(), |r| {
        format!(" and push it to {}", text::line(r))
    });
    prompting(|| {
        dialoguer::Confirm::new()
            .with_prompt(format!(
                "Create {} on {}{push}?",
                text::line(&plan.tag),
                short(&plan.commit)
            ))
            .default(true)
            .interact_opt()
    })
    .map(|answer| answer.unwrap_or(false))
    .map_err(prompt_error)
}

fn prompt_error(e: dialoguer::Error) -> CliError {
    let dialoguer::Error::IO(io) = &e;
    if io.kind() == std::io::ErrorKind::Interrupted {
        // Ctrl-C: the prompt hid the cursor and did not get to show it again.
        let _ = console::Term::stderr().show_cursor();
        return CliError::new(Kind::Cancelled, "cancelled; nothing was created");
    }
    CliError::new(
        Kind::Cancelled,
        format!("the prompt failed ({e}); nothing was created"),
    )
}

/// Runs a dialoguer prompt so that Ctrl-C leaves the terminal usable.
///
/// dialoguer hides the cursor while it draws, and console answers Ctrl-C by raising SIGINT,
/// which by default kills the process before dialoguer shows the cursor again: the user's
/// shell is left without a cursor. The handler shows it and exits with 130 (cancelled),
/// whether the signal came from console (raw mode) or from the terminal (between reads).
/// It is installed at the first prompt, so runs that never prompt keep the default.
fn prompting<T>(prompt: impl FnOnce() -> T) -> T {
    static HANDLER: Once = Once::new();
    HANDLER.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            let _ = console::Term::stderr().show_cursor();
            std::process::exit(Kind::Cancelled as i32);
        });
    });
    prompt()
}

fn finish(
    args: &ReleaseArgs,
    plan: &ReleasePlan,
    remote: &str,
    created: bool,
    pushed: bool,
) -> CliResult {
    if args.json {
        ui::print_json(&Outcome {
            plan,
            dry_run: args.dry_run,
            created,
            pushed,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let style = Style::stdout();
    // Everything below is from the repository, the config, the flags or the registry:
    // each value passes the gate, and the push hint is built from its argument vector.
    let tag = text::line(&plan.tag);
    let from = plan
        .current
        .as_ref()
        .map_or("no release".to_string(), |c| c.version.to_string());
    let image = match (&plan.digest, &plan.object) {
        (Some(digest), _) => format!("{}@{digest}", plan.artifact),
        (None, Some(object)) => format!("{} ({})", plan.artifact, object.short()),
        (None, None) => plan.artifact.to_string(),
    };
    let image = text::line(&image);
    let commit = short(&plan.commit);
    if args.dry_run {
        println!(
            "would create {} ({from} → {}) on {commit}",
            style.strong(&tag),
            plan.version,
        );
        println!("  {}: {image}", plan.artifact.noun());
        println!("  commits: {}", plan.commits.len());
        for commit in plan.commits.iter().take(SHOWN_COMMITS) {
            println!(
                "    {} {}",
                style.dim(&text::line(commit.short_id())),
                text::line(&commit.subject)
            );
        }
        if plan.commits.len() > SHOWN_COMMITS {
            println!("    … and {} more", plan.commits.len() - SHOWN_COMMITS);
        }
        if let Some(remote) = &plan.push_to {
            println!("  then push it to {}", text::line(remote));
        }
        println!("dry run: nothing was written");
    } else {
        println!(
            "{} created {} ({from} → {}) on {commit}",
            style.good("✓"),
            style.strong(&tag),
            plan.version,
        );
        println!("  {}: {image}", plan.artifact.noun());
        match &plan.push_to {
            Some(remote) if pushed => {
                println!("{} pushed {tag} to {}", style.good("✓"), text::line(remote))
            }
            _ => match text::command(&push_command(remote, &plan.tag)) {
                Ok(command) => println!("  push it with: {command}"),
                Err(_) => println!(
                    "  push it with: {}",
                    text::suggest(&push_command(remote, &plan.tag))
                ),
            },
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Returns the command that pushes exactly one tag, as an argument vector (`--` first
/// when the remote's name could be read as an option).
fn push_command(remote: &str, tag: &str) -> Vec<String> {
    let refspec = format!("refs/tags/{tag}");
    text::operands(&["git", "push"], &[remote, &refspec])
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// Returns the 7-character abbreviation of a commit id (shorter ids stay whole).
fn short(commit: &str) -> &str {
    commit.get(..7).unwrap_or(commit)
}
