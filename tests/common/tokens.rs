//! Access tokens from the test provider by the device authorization grant, the way a person
//! approves them in a browser. The provider's poll interval is 5 s, so tests share one token per
//! user and client through [`device_token`] instead of running the flow again.

use super::browser::Browser;
use super::peers::{peers, ALICE, BOB, MAIL_SCOPES, PUBLIC_CLIENT};
use oauth2::basic::BasicClient;
use oauth2::{
    ClientId, DeviceAuthorizationUrl, Scope, StandardDeviceAuthorizationResponse, TokenResponse,
    TokenUrl,
};
use std::time::Duration;
use tokio::sync::OnceCell;

/// Runs the device flow at `issuer` for `client_id` and returns the access token.
pub async fn device_token_at(
    issuer: &str,
    client_id: &str,
    user: (&str, &str),
    scopes: &[&str],
) -> String {
    let client = BasicClient::new(ClientId::new(client_id.into()))
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(format!("{issuer}/device/auth")).expect("device URL"),
        )
        .set_token_uri(TokenUrl::new(format!("{issuer}/token")).expect("token URL"));
    let http = oauth2::reqwest::ClientBuilder::new()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client");
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scopes(scopes.iter().map(|s| Scope::new(s.to_string())))
        .request_async(&http)
        .await
        .expect("device authorization request");
    let complete = details
        .verification_uri_complete()
        .expect("the provider sends verification_uri_complete")
        .secret()
        .clone();
    let user = (user.0.to_string(), user.1.to_string());
    let approve = tokio::spawn(async move {
        Browser::new()
            .approve_device(&complete, (&user.0, &user.1))
            .await
    });
    let token = client
        .exchange_device_access_token(&details)
        .request_async(&http, tokio::time::sleep, Some(Duration::from_secs(60)))
        .await
        .expect("device access token");
    approve.await.expect("the user approved the device");
    token.access_token().secret().clone()
}

/// A mail token for `user` (ALICE or BOB) from the public client, one per test binary.
pub async fn device_token(user: (&str, &str)) -> String {
    static ALICE_TOKEN: OnceCell<String> = OnceCell::const_new();
    static BOB_TOKEN: OnceCell<String> = OnceCell::const_new();
    let cell = if user.0 == BOB.0 {
        &BOB_TOKEN
    } else {
        assert_eq!(user.0, ALICE.0, "device_token knows ALICE and BOB");
        &ALICE_TOKEN
    };
    cell.get_or_init(|| async {
        device_token_at(peers().issuer(), PUBLIC_CLIENT, user, &MAIL_SCOPES).await
    })
    .await
    .clone()
}
