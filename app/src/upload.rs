//! Uploads with progress. `fetch()` cannot report how much of a request body has
//! been sent, so the hydrated upload form posts to the same server function with
//! `XMLHttpRequest` and reports its upload events. Without JavaScript the form
//! posts itself.

use leptos::prelude::*;
use leptos::web_sys::FormData;

use crate::catalog::TableInfo;
use crate::error::AppError;

/// Bytes sent of bytes to send, while an upload is under way.
pub type UploadProgress = RwSignal<Option<(f64, f64)>>;

/// Posts `form` to the upload server function, reporting progress in `progress`.
#[cfg(feature = "hydrate")]
pub async fn upload_with_progress(
    form: FormData,
    progress: UploadProgress,
) -> Result<TableInfo, AppError> {
    use std::cell::RefCell;
    use std::rc::Rc;

    use leptos::server_fn::ServerFn;
    use leptos::wasm_bindgen::JsCast;
    use leptos::wasm_bindgen::closure::Closure;
    use web_sys::{ProgressEvent, XmlHttpRequest};

    let failed = |what: &str| AppError::new(0, format!("The upload could not start: {what}."));
    let xhr = XmlHttpRequest::new().map_err(|_| failed("this browser refused the request"))?;
    xhr.open("POST", crate::api::UploadTable::url())
        .map_err(|_| failed("the request could not be opened"))?;
    // A plain form post accepts HTML and is redirected; this call wants the answer.
    let _ = xhr.set_request_header("Accept", "application/json");

    let on_progress = Closure::<dyn Fn(ProgressEvent)>::new(move |e: ProgressEvent| {
        if e.length_computable() {
            progress.set(Some((e.loaded(), e.total())));
        }
    });
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    let (done, finished) = futures_channel::oneshot::channel::<()>();
    let done = Rc::new(RefCell::new(Some(done)));
    let on_end = Closure::<dyn Fn()>::new(move || {
        if let Some(done) = done.borrow_mut().take() {
            let _ = done.send(());
        }
    });
    xhr.set_onloadend(Some(on_end.as_ref().unchecked_ref()));
    progress.set(Some((0.0, 0.0)));
    xhr.send_with_opt_form_data(Some(&form))
        .map_err(|_| failed("the form could not be sent"))?;
    let _ = finished.await;
    progress.set(None);

    let status = xhr.status().unwrap_or(0);
    let body = xhr.response_text().ok().flatten().unwrap_or_default();
    // Keep the callbacks alive until the request is over.
    drop((on_progress, on_end));
    match status {
        0 => Err(AppError::new(
            0,
            "The upload was interrupted: the server could not be reached.",
        )),
        200..=299 => serde_json::from_str(&body)
            .map_err(|e| AppError::new(500, format!("The server's answer could not be read: {e}"))),
        _ => {
            Err(serde_json::from_str::<AppError>(&body)
                .unwrap_or_else(|_| AppError::new(status, body)))
        }
    }
}

/// Server rendering never uploads; the same signature keeps the form's code single.
#[cfg(not(feature = "hydrate"))]
pub async fn upload_with_progress(
    form: FormData,
    _progress: UploadProgress,
) -> Result<TableInfo, AppError> {
    crate::api::upload_table(form.into()).await
}
