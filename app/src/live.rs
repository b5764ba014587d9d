//! Live updates: the server's event stream (`GET /api/v1/events`, server-sent
//! events) as callbacks in the hydrated UI. Server rendering has no stream: a
//! page rendered without JavaScript shows the state of the moment.

use leptos::prelude::*;

use crate::run::ServerEvent;

/// Calls `on_event` for every event the server sends while the calling component
/// is mounted; the connection closes with the component. The browser's
/// `EventSource` reconnects by itself after a network failure or a restart.
///
/// `on_connect` runs each time the stream opens, the first time included: the
/// events sent before (between the page's render and the stream's start, or
/// while the server was away) are lost, so a page showing a run in flight
/// reloads it then, or it could show the run running long after it ended.
pub fn use_server_events(
    on_event: impl Fn(ServerEvent) + 'static,
    on_connect: impl Fn() + 'static,
) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        use leptos::wasm_bindgen::closure::Closure;
        use send_wrapper::SendWrapper;
        use web_sys::{EventSource, MessageEvent};

        let on_event = std::rc::Rc::new(on_event);
        let on_connect = std::rc::Rc::new(on_connect);
        // An effect runs in the browser only, after hydration.
        Effect::new(move |_| {
            let Ok(source) = EventSource::new("/api/v1/events") else {
                return;
            };
            let on_connect = on_connect.clone();
            let opened = Closure::<dyn Fn()>::new(move || on_connect());
            source.set_onopen(Some(opened.as_ref().unchecked_ref()));
            let on_event = on_event.clone();
            let handler = Closure::<dyn Fn(MessageEvent)>::new(move |message: MessageEvent| {
                let Some(text) = message.data().as_string() else {
                    return;
                };
                match serde_json::from_str::<ServerEvent>(&text) {
                    Ok(event) => on_event(event),
                    Err(e) => leptos::logging::warn!("unreadable server event: {e}"),
                }
            });
            for name in ["run", "workload"] {
                // Only fails for an invalid callback, which this is not.
                let _ =
                    source.add_event_listener_with_callback(name, handler.as_ref().unchecked_ref());
            }
            let held = SendWrapper::new((source, handler, opened));
            on_cleanup(move || {
                let (source, _handler, _opened) = &*held;
                source.close();
            });
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (on_event, on_connect);
}

/// A reload of `changed` at most once per `interval`, however often it is
/// asked for: a list that hears about every run gets many changes a second
/// under load, and one reload after them is enough.
pub fn throttled_reload(changed: RwSignal<u64>, interval: std::time::Duration) -> impl Fn() + Copy {
    let scheduled = RwSignal::new(false);
    move || {
        if !scheduled.get_untracked() {
            scheduled.set(true);
            set_timeout(
                move || {
                    scheduled.set(false);
                    changed.update(|n| *n += 1);
                },
                interval,
            );
        }
    }
}
