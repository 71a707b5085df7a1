//! The tenant actor: serialises a company's writes and stops itself when idle.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix::prelude::*;
use futures::FutureExt;
use futures::future::LocalBoxFuture;
use parking_lot::Mutex;

use super::handle::TenantShared;

/// Seconds since the registry's epoch; written by every request, read by the idle sweep.
pub(super) type LastUsed = Arc<AtomicU64>;

/// The actor map shared with the registry, so a stopping actor can remove its own entry.
pub(super) type ActorMap = Arc<Mutex<HashMap<String, super::registry::Entry>>>;

/// The actor of one company.
pub(super) struct TenantActor {
    pub(super) shared: Arc<TenantShared>,
    pub(super) last_used: LastUsed,
    pub(super) clock: Arc<dyn Fn() -> u64 + Send + Sync>,
    pub(super) idle_timeout: Duration,
    pub(super) sweep_interval: Duration,
    pub(super) map: ActorMap,
    pub(super) generation: u64,
}

impl Actor for TenantActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        tracing::debug!(company = %self.shared.company_id, "tenant actor started");
        ctx.run_interval(self.sweep_interval, |actor, ctx| {
            let idle = (actor.clock)().saturating_sub(actor.last_used.load(Ordering::Relaxed));
            if idle >= actor.idle_timeout.as_secs() {
                tracing::debug!(company = %actor.shared.company_id, idle, "tenant actor idle; stopping");
                ctx.stop();
            }
        });
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        let mut map = self.map.lock();
        if map
            .get(&self.shared.company_id)
            .is_some_and(|e| e.generation == self.generation)
        {
            map.remove(&self.shared.company_id);
        }
        tracing::debug!(company = %self.shared.company_id, "tenant actor stopped");
    }
}

/// The handler panicked; the actor has stopped and will be replaced on the next request.
#[derive(Debug)]
pub(super) struct Panicked;

/// A unit of write work: runs alone, after every earlier write of the company has finished.
pub(super) struct Write<R>(pub(super) Box<dyn FnOnce(Arc<TenantShared>) -> LocalBoxFuture<'static, R> + Send>);

impl<R: 'static> Message for Write<R> {
    type Result = Result<R, Panicked>;
}

/// Runs the write to completion before the next message is taken (an atomic response). A panic inside it is
/// caught so the arbiter thread, which other companies' actors share, survives; this actor then stops.
impl<R: 'static> Handler<Write<R>> for TenantActor {
    type Result = AtomicResponse<Self, Result<R, Panicked>>;

    fn handle(&mut self, msg: Write<R>, _ctx: &mut Self::Context) -> Self::Result {
        let shared = self.shared.clone();
        let work = AssertUnwindSafe(async move { (msg.0)(shared).await }).catch_unwind();
        AtomicResponse::new(Box::pin(work.into_actor(self).map(|outcome, actor, ctx| {
            outcome.map_err(|_| {
                actor.shared.dead.store(true, std::sync::atomic::Ordering::Release);
                tracing::error!(company = %actor.shared.company_id, "tenant actor panicked; it will be replaced");
                ctx.stop();
                Panicked
            })
        })))
    }
}

/// Stops the actor after the writes already queued.
pub(super) struct Stop;

impl Message for Stop {
    type Result = ();
}

/// Stops the actor once every earlier message has been handled.
impl Handler<Stop> for TenantActor {
    type Result = ();

    fn handle(&mut self, _msg: Stop, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
