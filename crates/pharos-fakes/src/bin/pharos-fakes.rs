//! Runs a fake as its own process, for tests that cannot link it in (the browser tests of
//! `ui/e2e/` drive the real `pharos` binary), on 127.0.0.1, serving until killed:
//!
//! - `pharos-fakes idp --client-id ID --client-secret SECRET [--user NAME]` starts the fake
//!   OpenID Connect provider ([`pharos_fakes::idp`]) on an ephemeral port and prints one line
//!   `{"issuer":"http://127.0.0.1:PORT"}` to stdout once it answers;
//! - `pharos-fakes openai --script FILE.json [--listen 127.0.0.1:PORT] [--api-key KEY]` starts the
//!   scripted OpenAI-compatible server ([`pharos_fakes::openai`]) with the turns of FILE.json (a
//!   JSON array of `{"kind": …}` turns) and prints `{"base_url":"http://127.0.0.1:PORT/v1"}`.

use std::net::SocketAddr;

use pharos_fakes::idp::{FakeIdp, FakeUser};
use pharos_fakes::openai::{ScriptedLlm, Turn};

const USAGE: &str = "usage: pharos-fakes idp --client-id ID --client-secret SECRET [--user NAME (default alice)]
       pharos-fakes openai --script FILE.json [--listen ADDR (default 127.0.0.1:0)] [--api-key KEY]";

/// The flags of `idp`.
struct IdpArgs {
    client_id: String,
    client_secret: String,
    user: String,
}

/// The flags of `openai`.
struct OpenAiArgs {
    listen: SocketAddr,
    script: String,
    api_key: Option<String>,
}

enum Command {
    Idp(IdpArgs),
    OpenAi(OpenAiArgs),
}

/// `--flag value` pairs.
fn flags(mut args: impl Iterator<Item = String>) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        pairs.push((flag, value));
    }
    Ok(pairs)
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    match args.next().as_deref() {
        Some("idp") => parse_idp(args).map(Command::Idp),
        Some("openai") => parse_openai(args).map(Command::OpenAi),
        _ => Err("the commands are `idp` and `openai`".to_owned()),
    }
}

fn parse_idp(args: impl Iterator<Item = String>) -> Result<IdpArgs, String> {
    let (mut client_id, mut client_secret, mut user) = (None, None, "alice".to_owned());
    for (flag, value) in flags(args)? {
        match flag.as_str() {
            "--client-id" => client_id = Some(value),
            "--client-secret" => client_secret = Some(value),
            "--user" => user = value,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(IdpArgs {
        client_id: client_id.ok_or("--client-id is required")?,
        client_secret: client_secret.ok_or("--client-secret is required")?,
        user,
    })
}

fn parse_openai(args: impl Iterator<Item = String>) -> Result<OpenAiArgs, String> {
    let (mut listen, mut script, mut api_key) = (SocketAddr::from(([127, 0, 0, 1], 0)), None, None);
    for (flag, value) in flags(args)? {
        match flag.as_str() {
            "--listen" => {
                listen = value
                    .parse()
                    .map_err(|e| format!("--listen {value}: {e} (expected e.g. 127.0.0.1:8089)"))?;
            }
            "--script" => script = Some(value),
            "--api-key" => api_key = Some(value),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(OpenAiArgs {
        listen,
        script: script.ok_or("--script is required")?,
        api_key,
    })
}

async fn serve_idp(args: IdpArgs) -> Result<serde_json::Value, String> {
    let idp = FakeIdp::start(&args.client_id, &args.client_secret)
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
    idp.set_user(FakeUser::named(&args.user));
    // The listener is bound before `start` returns, so connections are accepted from here on.
    Ok(serde_json::json!({ "issuer": idp.issuer() }))
}

async fn serve_openai(args: OpenAiArgs) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(&args.script)
        .map_err(|e| format!("cannot read {}: {e}", args.script))?;
    let script: Vec<Turn> = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a JSON array of turns: {e}", args.script))?;
    let llm = ScriptedLlm::start_on(args.listen, script, args.api_key.as_deref())
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    Ok(serde_json::json!({ "base_url": llm.base_url() }))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let command = match parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("pharos-fakes: {message}\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    let started = match command {
        Command::Idp(args) => serve_idp(args).await,
        Command::OpenAi(args) => serve_openai(args).await,
    };
    match started {
        Ok(line) => println!("{line}"),
        Err(message) => {
            eprintln!("pharos-fakes: {message}");
            return std::process::ExitCode::FAILURE;
        }
    }
    std::future::pending::<()>().await;
    std::process::ExitCode::SUCCESS
}
