//! Publishes N events to a Redis stream and prints the rate: the publish-only figure of
//! benches/transport.sh.
//!
//!     cargo run --release -p flowspec-transport --example publish_rate -- redis://127.0.0.1:6379/0 200000 500

use std::time::Instant;

use flowspec_core::Event;
use flowspec_transport::{RedisTransport, TransportConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "redis://127.0.0.1:6379/0".into());
    let n: usize = args.next().map_or(Ok(100_000), |a| a.parse())?;
    let batch: usize = args.next().map_or(Ok(500), |a| a.parse())?;
    let config = TransportConfig::new(&url)?.stream("flowspec:bench");
    let transport = RedisTransport::new(config)?;
    let events: Vec<Event> = (0..n)
        .map(|i| {
            Event::builder("build.completed")
                .source("bench")
                .field("n", i as u64)
                .field("branch", "main")
                .build()
        })
        .collect::<Result<_, _>>()?;
    let started = Instant::now();
    for chunk in events.chunks(batch.max(1)) {
        transport.publish_events(chunk).await?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "published {n} events in batches of {batch}: {:.0} events/s ({secs:.2} s)",
        n as f64 / secs
    );
    Ok(())
}
