//! The staff queue of pending decisions.

use super::*;

#[component]
pub fn StaffQueuePage() -> impl IntoView {
    let decide_req = ServerAction::<DecideContactRequest>::new();
    let decide_srv = ServerAction::<DecideServerDeclaration>::new();
    let acts = Actions {
        update: ServerAction::new(),
        add: ServerAction::new(),
        deactivate: ServerAction::new(),
        remove_admin: ServerAction::new(),
        transfer: ServerAction::new(),
        resend: ServerAction::new(),
        reset: ServerAction::new(),
        declare: ServerAction::new(),
        sharing: ServerAction::new(),
        decide_req,
        decide_srv,
        renew: ServerAction::new(),
        cancel: ServerAction::new(),
    };
    let data = Resource::new(
        move || (decide_req.version().get(), decide_srv.version().get()),
        |_| load_staff_queue(),
    );
    let err_a = last_error(decide_req);
    let err_b = last_error(decide_srv);
    view! {
        <Title text="Requests"/>
        <h1>"Requests from customers"</h1>
        <FormError error=err_a/>
        <FormError error=err_b/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(q) => view! {
                        <section aria-labelledby="q-contacts">
                            <h2 id="q-contacts">"Additional Technical Contacts"</h2>
                            {if q.contact_requests.is_empty() {
                                view! { <p class="empty">"Nothing waiting."</p> }.into_any()
                            } else {
                                view! { <RequestTable rows=q.contact_requests staff=true acts=acts/> }.into_any()
                            }}
                        </section>
                        <section aria-labelledby="q-servers">
                            <h2 id="q-servers">"Servers and services to cover"</h2>
                            {if q.server_declarations.is_empty() {
                                view! { <p class="empty">"Nothing waiting."</p> }.into_any()
                            } else {
                                view! { <ServerTable rows=q.server_declarations staff=true acts=acts/> }.into_any()
                            }}
                        </section>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
