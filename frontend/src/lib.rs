#![recursion_limit = "1024"]
//! The browser half: hydrates the interactive islands of the server-rendered page.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    // Pages are server-rendered HTML whose forms work as plain forms; only the
    // islands (`#[island]` in `app`) ship code to the browser.
    app::link_islands();
    leptos::mount::hydrate_islands();
}
