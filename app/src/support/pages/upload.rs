//! The attachment form, with upload progress when JavaScript runs.

use super::*;

/// The attachment form. Without JavaScript a plain multipart post; as an
/// island it uploads in the background and shows the progress, and the new
/// file arrives in the conversation through the live stream.
#[island]
pub(super) fn UploadForm(id: i32, max_mb: u64, staff: bool) -> impl IntoView {
    let progress = RwSignal::new(None::<f64>);
    let message = RwSignal::new(None::<(bool, String)>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        #[cfg(feature = "hydrate")]
        {
            ev.prevent_default();
            upload_with_progress(&ev, id, progress, message);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    view! {
        <form method="post" action=format!("/tickets/{id}/attachments") enctype="multipart/form-data" class="stack" on:submit=on_submit>
            <div class="field">
                <label for="a-file">{format!("File (up to {max_mb} MB)")}</label>
                <input type="file" id="a-file" name="file" required=true/>
            </div>
            {staff.then(|| view! {
                <div class="choice">
                    <input type="checkbox" id="a-internal" name="internal"/>
                    <label for="a-internal">"Internal (staff only)"</label>
                </div>
            })}
            {move || progress.get().map(|p| view! {
                <progress max="100" value=format!("{p:.0}") aria-label="Upload progress">{format!("{p:.0}%")}</progress>
            })}
            {move || message.get().map(|(ok, text)| view! {
                <p class=if ok { "notice success" } else { "notice error" } role="status">{text}</p>
            })}
            <button type="submit" disabled=move || progress.get().is_some()>"Attach"</button>
        </form>
    }
}

#[cfg(feature = "hydrate")]
pub(super) fn upload_with_progress(
    ev: &leptos::ev::SubmitEvent,
    id: i32,
    progress: RwSignal<Option<f64>>,
    message: RwSignal<Option<(bool, String)>>,
) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    let Some(form) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
    else {
        return;
    };
    let (Ok(data), Ok(xhr)) = (
        web_sys::FormData::new_with_form(&form),
        web_sys::XmlHttpRequest::new(),
    ) else {
        return;
    };
    if xhr
        .open("POST", &format!("/tickets/{id}/attachments"))
        .is_err()
    {
        return;
    }
    let _ = xhr.set_request_header("Accept", "application/json");
    progress.set(Some(0.0));
    message.set(None);
    if let Ok(upload) = xhr.upload() {
        let on_progress =
            Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
                if e.length_computable() && e.total() > 0.0 {
                    progress.set(Some(e.loaded() / e.total() * 100.0));
                }
            });
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        on_progress.forget();
    }
    let done = xhr.clone();
    let on_load = Closure::<dyn FnMut()>::new(move || {
        progress.set(None);
        let status = done.status().unwrap_or(0);
        let text = done.response_text().ok().flatten().unwrap_or_default();
        if status == 200 {
            message.set(Some((true, "File attached.".into())));
            form.reset();
        } else if text.is_empty() {
            message.set(Some((
                false,
                format!("The upload failed ({status}). Try again."),
            )));
        } else {
            message.set(Some((false, text)));
        }
    });
    xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
    on_load.forget();
    let on_error = Closure::<dyn FnMut()>::new(move || {
        progress.set(None);
        message.set(Some((
            false,
            "The upload was interrupted. Check the connection and try again.".into(),
        )));
    });
    xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    if xhr.send_with_opt_form_data(Some(&data)).is_err() {
        progress.set(None);
        message.set(Some((
            false,
            "The upload could not start. Try again.".into(),
        )));
    }
}
