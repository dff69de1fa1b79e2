//! Runs the fake Messages API until killed; prints its base URL.

fn main() -> std::io::Result<()> {
    let api = fake_anthropic::FakeApi::start(fake_anthropic::Script::default())?;
    println!("{}", api.base_url());
    loop {
        std::thread::park();
    }
}
