//! The test suite's token service (`monorel_e2e::oci::TokenIssuer`) as a program, for the
//! benchmarks: `token-issuer DIR` generates its key and certificate under DIR, prints
//! `realm=<url>` and `cert=<path>` (the registry's `auth.token` settings), then serves
//! until killed.

use monorel_e2e::oci::TokenIssuer;

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: token-issuer DIR");
        std::process::exit(2);
    };
    let issuer = TokenIssuer::start(std::path::Path::new(&dir));
    println!("realm={}", issuer.realm);
    println!("cert={}", issuer.keys.cert.display());
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
