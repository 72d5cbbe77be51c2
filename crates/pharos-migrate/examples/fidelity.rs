//! Prints the fidelity table of the reference Grafana dashboards (Markdown), and with
//! `--losses` every loss: `cargo run -p pharos-migrate --example fidelity [-- --losses]`.

#[path = "../tests/common/mod.rs"]
mod common;

fn main() {
    let show_losses = std::env::args().any(|arg| arg == "--losses");
    let mut names: Vec<String> = std::fs::read_dir(common::REFERENCE)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut rows = Vec::new();
    for name in names {
        let grafana = common::read_json(&name);
        let migration = common::convert(grafana.clone());
        if show_losses {
            println!("## {name}");
            for loss in &migration.losses {
                println!("- {} — {}: {}", loss.location, loss.what, loss.why);
            }
        }
        rows.push((
            name.trim_end_matches(".json").to_string(),
            common::fidelity::measure(&grafana, &migration),
        ));
    }
    print!("{}", common::fidelity::table(&rows));
}
