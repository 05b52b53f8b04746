//! The catalog page's products: each with its versions, and for
//! administrators the forms that add them.

use super::*;

#[component]
pub(super) fn ProductsSection(
    products: Vec<ProductView>,
    can_edit: bool,
    create: ServerAction<CreateProduct>,
    add_version: ServerAction<AddProductVersion>,
) -> impl IntoView {
    let create_error = last_error(create);
    let version_error = last_error(add_version);
    view! {
        <section aria-labelledby="products-title">
            <h2 id="products-title">"Products"</h2>
            <p class="hint">"Tickets and covered servers name a release from this list; a level covers some of the products."</p>
            {products.is_empty().then(|| view! { <p class="empty">"No products in the catalog yet."</p> })}
            {(!products.is_empty()).then(|| view! {
                <table class="table">
                    <thead><tr><th scope="col">"Product"</th><th scope="col">"Description"</th><th scope="col">"Versions"</th></tr></thead>
                    <tbody>
                        {products.iter().map(|p| {
                            let versions = if p.versions.is_empty() {
                                "none yet".to_string()
                            } else {
                                p.versions.iter().map(|v| if v.lts { format!("{} (LTS)", v.version) } else { v.version.clone() }).collect::<Vec<_>>().join(", ")
                            };
                            view! {
                                <tr>
                                    <th scope="row">{p.name.clone()}</th>
                                    <td>{p.description.clone()}</td>
                                    <td>{versions}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            {can_edit.then(|| view! {
                {(!products.is_empty()).then(|| view! {
                    <details class="card" open=move || version_error.get().is_some()>
                        <summary>"Add a version"</summary>
                        <ActionForm action=add_version attr:class="stack" attr:novalidate=""><ReturnHere/>
                            <FormError error=version_error/>
                            <div class="field">
                                <label for="version-product">"Product"</label>
                                <select id="version-product" name="product_id">
                                    {products.iter().map(|p| view! { <option value=p.id.to_string()>{p.name.clone()}</option> }).collect_view()}
                                </select>
                            </div>
                            <TextField name="version" id="version-version" label="Version" error=field_of(version_error, "version") required=true/>
                            <div class="field checkbox">
                                <input id="version-lts" type="checkbox" name="lts" value="yes"/>
                                <label for="version-lts">"Long-term support release"</label>
                            </div>
                            <button type="submit" class="primary">"Add version"</button>
                        </ActionForm>
                    </details>
                })}
                <details class="card" open=move || create_error.get().is_some()>
                    <summary>"Add a product"</summary>
                    <ActionForm action=create attr:class="stack" attr:novalidate=""><ReturnHere/>
                        <FormError error=create_error/>
                        <TextField name="name" id="product-name" label="Product name" error=field_of(create_error, "name") required=true/>
                        <TextField name="description" id="product-description" label="Product description" error=field_of(create_error, "description")/>
                        <button type="submit" class="primary">"Add product"</button>
                    </ActionForm>
                </details>
            })}
        </section>
    }
}
