//! Runs a fake as its own process, for tests that cannot link it in (the browser tests of
//! `ui/e2e/` drive the real `pharos` binary): `pharos-fakes idp --client-id ID
//! --client-secret SECRET [--user NAME]` starts the fake OpenID Connect provider
//! ([`pharos_fakes::idp`]) on an ephemeral port of 127.0.0.1, prints one line
//! `{"issuer":"http://127.0.0.1:PORT"}` to stdout once it answers, and serves until killed.

use pharos_fakes::idp::{FakeIdp, FakeUser};

const USAGE: &str =
    "usage: pharos-fakes idp --client-id ID --client-secret SECRET [--user NAME (default alice)]";

/// The flags of `idp`.
struct IdpArgs {
    client_id: String,
    client_secret: String,
    user: String,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<IdpArgs, String> {
    if args.next().as_deref() != Some("idp") {
        return Err("the only command is `idp`".to_owned());
    }
    let (mut client_id, mut client_secret, mut user) = (None, None, "alice".to_owned());
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
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

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("pharos-fakes: {message}\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    let idp = match FakeIdp::start(&args.client_id, &args.client_secret).await {
        Ok(idp) => idp,
        Err(e) => {
            eprintln!("pharos-fakes: cannot listen on 127.0.0.1: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    idp.set_user(FakeUser::named(&args.user));
    // The listener is bound before `start` returns, so connections are accepted from here on.
    println!("{}", serde_json::json!({ "issuer": idp.issuer() }));
    std::future::pending::<()>().await;
    std::process::ExitCode::SUCCESS
}
