//! `/account`: the signed-in user's API tokens (create, shown once; revoke)
//! and their password.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{ChangePassword, CreateToken, RevokeToken, list_tokens};
use crate::auth::{MIN_PASSWORD_CHARS, Role, TokenInfo};
use crate::components::layout::PageHeader;
use crate::format::timestamp;
use crate::session::use_page_user;

#[component]
pub fn AccountPage() -> impl IntoView {
    let user = use_page_user();
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let password = ServerAction::<ChangePassword>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    let Some(name) = user.as_ref().and_then(|u| u.name.clone()) else {
        return view! {
            <Title text="Account" />
            <PageHeader title="Account" />
            <p class="muted" data-testid="no-accounts">"This Tally needs no sign-in, so it has no accounts or API tokens: it serves only this machine."</p>
        }
        .into_any();
    };
    let my_role = user.map_or(Role::Viewer, |u| u.role);
    view! {
        <Title text="Account" />
        <PageHeader title=name.clone() subtitle=format!("Signed in with the {my_role} role") />
        <section class="card" aria-labelledby="tokens-title">
            <header class="card__header"><h2 id="tokens-title">"API tokens"</h2></header>
            <p class="muted">"Scripts and CI send a token as " <code>"Authorization: Bearer tally_…"</code> "; " <code>"tally import"</code> " takes " <code>"--token"</code> "."</p>
            <ActionForm action=create attr:class="form" attr:data-testid="token-form">
                <div class="field-row">
                    <div class="field">
                        <label for="token-name">"Name"</label>
                        <input id="token-name" name="name" required maxlength="100" placeholder="nightly import" />
                    </div>
                    <div class="field">
                        <label for="token-role">"Role"</label>
                        <select id="token-role" name="role">
                            {Role::ALL.into_iter().filter(|r| *r <= my_role).map(|r| view! {
                                <option value=r.as_str() selected=r == my_role>{r.as_str()}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="token-days">"Expires after (days)"</label>
                        <input id="token-days" name="expires_in_days" inputmode="numeric" placeholder="never" />
                    </div>
                </div>
                <div class="form__actions"><button type="submit" class="btn" data-testid="token-create">"Create token"</button></div>
            </ActionForm>
            {move || create.value().get().map(|result| match result {
                Ok(token) => view! {
                    <div class="alert alert--ok" role="status" data-testid="token-secret">
                        <p>"Copy the token now: it is shown only once."</p>
                        <code class="secret">{token.token}</code>
                    </div>
                }.into_any(),
                Err(e) => view! { <p class="alert alert--error" role="alert" data-testid="token-error">{e.message}</p> }.into_any(),
            })}
            <Transition fallback=|| view! { <p class="muted">"Loading tokens…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(list) => view! { <TokenTable list revoke /> }.into_any(),
                        Err(e) => view! { <p class="alert alert--error" role="alert">{e.message}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <section class="card" aria-labelledby="password-title">
            <header class="card__header"><h2 id="password-title">"Password"</h2></header>
            <ActionForm action=password attr:class="form" attr:data-testid="password-form">
                <div class="field">
                    <label for="new-password">"New password"</label>
                    <input id="new-password" name="password" type="password" required autocomplete="new-password" minlength=MIN_PASSWORD_CHARS />
                    <p class="field__help">"Changing it signs you out everywhere, here included."</p>
                </div>
                <div class="form__actions"><button type="submit" class="btn btn--secondary">"Change password"</button></div>
            </ActionForm>
            {move || password.value().get().map(|result| match result {
                Ok(_) => view! { <p class="alert alert--ok" role="status">"Password changed: sign in again with it."" "<a href="/login">"Sign in"</a></p> }.into_any(),
                Err(e) => view! { <p class="alert alert--error" role="alert">{e.message}</p> }.into_any(),
            })}
        </section>
    }
    .into_any()
}

/// Tokens with their revoke buttons; also the admin page's list.
#[component]
pub fn TokenTable(list: Vec<TokenInfo>, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="muted" data-testid="no-tokens">"No tokens yet."</p> }.into_any();
    }
    view! {
        <div class="table-scroll">
            <table class="data" data-testid="tokens-table">
                <thead><tr><th>"Id"</th><th>"Name"</th><th>"Owner"</th><th>"Role"</th><th>"Created"</th><th>"Expires"</th><th>"Last used"</th><th></th></tr></thead>
                <tbody>
                    {list.into_iter().map(|t| view! {
                        <tr>
                            <td class="num">{t.id}</td>
                            <td class="text">{t.name.clone()}</td>
                            <td class="text">{t.owner.clone()}</td>
                            <td>{t.role.as_str()}</td>
                            <td>{timestamp(&t.created_at)}</td>
                            <td>{t.expires_at.as_deref().map_or_else(|| "never".to_string(), timestamp)}</td>
                            <td>{t.last_used_at.as_deref().map_or_else(|| "–".to_string(), timestamp)}</td>
                            <td>
                                <ActionForm action=revoke attr:class="inline-form">
                                    <input type="hidden" name="id" value=t.id />
                                    <button type="submit" class="btn btn--secondary" data-testid="token-revoke">"Revoke"</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
