//! SAML single sign-on: an identity provider built with `saml-rs` (the IdP side of the crate the
//! server uses as SP) signs responses with an RSA key and a self-signed certificate made here
//! with `rsa` and `rcgen`; the test plays the browser between it and the server.

use std::sync::OnceLock;
use std::time::Duration;

use reqwest::header::{
    ACCEPT, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE,
};
use reqwest::StatusCode;
use saml_rs::{
    AuthnRequest, BrowserInput, CertificatePem, Credentials, EntityId, Idp, IdpConfig,
    IdpValidationPolicy, MetadataTrustPolicy, NameId, PrivateKeyPem, ReplayPolicy, RespondSso,
    Saml, SamlValidationContext, SpDescriptor, SsoEndpoint, Subject,
};
use serde_json::{json, Value};

use crate::helpers::{expect_json, expect_problem, problem_fields, Org, TestApp};
use crate::sso::{console_code, exchange, me, spawn_sso_app, team_names, user_count};

const IDP_ENTITY: &str = "https://idp.acme.test/saml";
const IDP_SSO: &str = "https://idp.acme.test/saml/sso";

/// A signing key and its self-signed certificate, as PEM, made once per test run.
fn key_and_certificate() -> &'static (String, String) {
    static MADE: OnceLock<(String, String)> = OnceLock::new();
    MADE.get_or_init(|| {
        use rsa::pkcs8::{EncodePrivateKey, LineEnding};
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("an RSA key");
        let pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .expect("PKCS#8")
            .to_string();
        let pair = rcgen::KeyPair::from_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256)
            .expect("rcgen takes the key");
        let params = rcgen::CertificateParams::new(vec!["idp.acme.test".to_string()]).unwrap();
        let cert = params.self_signed(&pair).expect("a certificate");
        (pem, cert.pem())
    })
}

/// The identity provider, its assertions living `lifetime`.
fn identity_provider(lifetime: Duration) -> Saml<Idp> {
    identity_provider_with(lifetime, saml_rs::TemplatePolicy::default())
}

/// An identity provider whose assertions carry attributes as a directory sends them: the
/// address, the display name, a group (`memberOf`) and a department, filled from the user's
/// values tagged `email`, `name`, `group` and `department`.
fn attribute_sending_idp() -> Saml<Idp> {
    use saml_rs::template::{LoginResponseAttribute, LoginResponseTemplate};
    let attribute = |name: &str, tag: &str| LoginResponseAttribute {
        name: name.into(),
        name_format: "urn:oasis:names:tc:SAML:2.0:attrname-format:basic".into(),
        value_xsi_type: "xs:string".into(),
        value_tag: tag.into(),
        value_xmlns_xs: None,
        value_xmlns_xsi: None,
    };
    identity_provider_with(
        Duration::from_secs(300),
        saml_rs::TemplatePolicy {
            login_response_template: Some(LoginResponseTemplate {
                context: None,
                attributes: vec![
                    attribute("email", "email"),
                    attribute("displayName", "name"),
                    attribute("memberOf", "group"),
                    attribute("department", "department"),
                ],
            }),
            ..saml_rs::TemplatePolicy::default()
        },
    )
}

fn identity_provider_with(lifetime: Duration, templates: saml_rs::TemplatePolicy) -> Saml<Idp> {
    let (key, cert) = key_and_certificate();
    Saml::idp(
        IdpConfig::builder(EntityId::try_new(IDP_ENTITY).unwrap())
            .templates(templates)
            .sso_endpoint(SsoEndpoint::redirect(IDP_SSO).unwrap())
            .credentials(Credentials {
                signing_key: Some(PrivateKeyPem::new(key.as_str())),
                signing_certificate: Some(CertificatePem::new(cert.as_str())),
                ..Credentials::default()
            })
            .issuance_lifetime(lifetime)
            .validation(IdpValidationPolicy::recommended())
            .build()
            .unwrap(),
    )
    .unwrap()
}

fn signing_idp() -> Saml<Idp> {
    identity_provider(Duration::from_secs(300))
}

async fn configure_saml(app: &TestApp, org: &Org, idp: &Saml<Idp>) -> Value {
    let res = app
        .client
        .put(app.url("/api/v1/org/sso"))
        .bearer_auth(&org.admin_token)
        .json(&json!({
            "protocol": "saml",
            "idp_metadata_xml": idp.metadata_xml(),
            "email_domains": ["acme.test"],
            "default_role": "learner",
            "allow_password_login": true,
        }))
        .send()
        .await
        .unwrap();
    expect_json(res, StatusCode::OK).await
}

/// Reprise's SP metadata as the identity provider loads it.
async fn service_provider(app: &TestApp) -> SpDescriptor {
    let res = app.get("/api/v1/auth/saml/metadata?org=acme", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let xml = res.text().await.unwrap();
    let own = "http://reprise.test/api/v1/auth/saml/metadata?org=acme";
    assert!(
        xml.contains("http://reprise.test/api/v1/auth/saml/acs"),
        "{xml}"
    );
    SpDescriptor::from_metadata_xml_for(
        EntityId::try_new(own).unwrap(),
        &xml,
        MetadataTrustPolicy::UnsignedForCompatibility,
    )
    .unwrap()
}

/// The form the identity provider's page posts back to the ACS, and the browser's cookie.
struct Posted {
    fields: Vec<(String, String)>,
    cookie: String,
}

/// Starts a sign-in at Reprise and has `idp` answer it for `email` as the SP `sp`.
async fn answer(app: &TestApp, idp: &Saml<Idp>, sp: &SpDescriptor, email: &str) -> Posted {
    let start = app
        .get(&format!("/api/v1/auth/sso/start?email={email}"), None)
        .await;
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let cookie = start
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let to = start.headers().get(LOCATION).unwrap().to_str().unwrap();
    let query = to.strip_prefix(&format!("{IDP_SSO}?")).expect("to the IdP");
    let request = idp
        .receive_sso(
            sp,
            BrowserInput::<AuthnRequest>::redirect(query),
            SamlValidationContext::new(
                std::time::SystemTime::now(),
                ReplayPolicy::DisabledForCompatibility,
            ),
        )
        .expect("the IdP accepts Reprise's request");
    let response = idp
        .respond_sso(
            sp,
            &request,
            Subject::new(NameId::new(email, None), Vec::new()),
            RespondSso::post(),
        )
        .expect("the IdP answers");
    let fields = response
        .post_form()
        .unwrap()
        .fields()
        .iter()
        .map(|f| (f.name().to_string(), f.value().to_string()))
        .collect();
    Posted { fields, cookie }
}

/// Like [`answer`], but the response is made out to another service provider (another entity
/// id at the same ACS), through the crate's lower-level IdP API that takes the request id as is.
async fn answer_for_another_service(
    app: &TestApp,
    idp: &Saml<Idp>,
    sp: &SpDescriptor,
    email: &str,
) -> Posted {
    raw_answer(
        app,
        idp,
        sp,
        Audience::Another,
        saml_rs::raw::User::new(email),
    )
    .await
}

/// Whom a response made through the lower-level API is made out to.
enum Audience {
    Reprise,
    Another,
}

/// Starts a sign-in for `user` and has `idp` answer it through the crate's lower-level API,
/// which takes the request id as is and fills attributes from the user's tagged values.
async fn raw_answer(
    app: &TestApp,
    idp: &Saml<Idp>,
    sp: &SpDescriptor,
    audience: Audience,
    user: saml_rs::raw::User,
) -> Posted {
    let email = user
        .attributes
        .iter()
        .find(|(tag, _)| tag == "email")
        .map_or_else(|| user.name_id.clone(), |(_, v)| v.clone());
    let start = app
        .get(&format!("/api/v1/auth/sso/start?email={email}"), None)
        .await;
    let cookie = start.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let to = start.headers().get(LOCATION).unwrap().to_str().unwrap();
    let query = to.strip_prefix(&format!("{IDP_SSO}?")).unwrap();
    let request = idp
        .receive_sso(
            sp,
            BrowserInput::<AuthnRequest>::redirect(query),
            SamlValidationContext::new(
                std::time::SystemTime::now(),
                ReplayPolicy::DisabledForCompatibility,
            ),
        )
        .unwrap();
    let relay = request.relay_state().as_deref().unwrap().to_string();
    let entity = match audience {
        Audience::Reprise => "http://reprise.test/api/v1/auth/saml/metadata?org=acme",
        Audience::Another => "https://other-service.test/saml",
    };
    // A service provider of that entity id at Reprise's ACS: what the response is made out to.
    let made_out_to = Saml::sp(
        saml_rs::SpConfig::builder(EntityId::try_new(entity).unwrap())
            .acs_endpoint(
                saml_rs::AcsEndpoint::post("http://reprise.test/api/v1/auth/saml/acs").unwrap(),
            )
            .validation(saml_rs::SpValidationPolicy {
                assertions: saml_rs::AssertionSignaturePolicy::RequireSigned,
                ..saml_rs::SpValidationPolicy::recommended()
            })
            .build()
            .unwrap(),
    )
    .unwrap();
    let made = idp
        .raw_identity_provider()
        .create_login_response(
            made_out_to.raw_service_provider(),
            saml_rs::raw::Binding::Post,
            &user,
            &saml_rs::raw::LoginResponseOptions {
                in_response_to: Some(request.message().id().as_str()),
                relay_state: Some(&relay),
                encrypt_then_sign: false,
                custom: None,
            },
        )
        .unwrap();
    Posted {
        fields: vec![
            ("SAMLResponse".into(), made.context),
            ("RelayState".into(), relay),
        ],
        cookie,
    }
}

/// Changes the XML of the posted SAMLResponse.
fn rewrite_response(posted: &mut Posted, change: impl Fn(String) -> String) {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    for (name, value) in &mut posted.fields {
        if name == "SAMLResponse" {
            let xml = String::from_utf8(engine.decode(value.as_bytes()).unwrap()).unwrap();
            *value = engine.encode(change(xml));
        }
    }
}

/// The XML without its `Signature` elements, whatever their prefix.
fn strip_signatures(mut xml: String) -> String {
    for (open, close) in [
        ("<ds:Signature", "</ds:Signature>"),
        ("<Signature", "</Signature>"),
    ] {
        while let Some(start) = xml.find(open) {
            let end = xml[start..].find(close).expect("a closed signature") + start + close.len();
            xml.replace_range(start..end, "");
        }
    }
    assert!(!xml.contains("SignatureValue"), "{xml}");
    xml
}

/// An identity provider under the same name with a key of its own.
fn other_key_idp() -> Saml<Idp> {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("an RSA key");
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .expect("PKCS#8")
        .to_string();
    let pair = rcgen::KeyPair::from_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["idp.acme.test".to_string()])
        .unwrap()
        .self_signed(&pair)
        .unwrap()
        .pem();
    Saml::idp(
        IdpConfig::builder(EntityId::try_new(IDP_ENTITY).unwrap())
            .sso_endpoint(SsoEndpoint::redirect(IDP_SSO).unwrap())
            .credentials(Credentials {
                signing_key: Some(PrivateKeyPem::new(pem)),
                signing_certificate: Some(CertificatePem::new(cert)),
                ..Credentials::default()
            })
            .validation(IdpValidationPolicy::recommended())
            .build()
            .unwrap(),
    )
    .unwrap()
}

async fn post_acs(app: &TestApp, posted: &Posted) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/saml/acs"))
        .header(COOKIE, &posted.cookie)
        .form(&posted.fields)
        .send()
        .await
        .unwrap()
}

/// Posts the form and expects a 401 whose detail says `why`.
async fn refused_because(app: &TestApp, posted: &Posted, why: &str) {
    let problem = expect_problem(post_acs(app, posted).await, StatusCode::UNAUTHORIZED).await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains(why), "expected {why:?}: {detail}");
}

async fn acme_with_saml(idp: &Saml<Idp>) -> (TestApp, Org) {
    let app = spawn_sso_app().await;
    let org = app.create_org("Acme", "ada@acme.test").await;
    configure_saml(&app, &org, idp).await;
    (app, org)
}

#[actix_web::test]
async fn a_signed_response_signs_the_member_in_once() {
    let idp = signing_idp();
    let (app, org) = acme_with_saml(&idp).await;
    let sp = service_provider(&app).await;
    let before = user_count(&app, &org).await;

    let posted = answer(&app, &idp, &sp, "sam@acme.test").await;
    let res = post_acs(&app, &posted).await;
    let code = console_code(&res);
    let pair = expect_json(exchange(&app, &code).await, StatusCode::OK).await;
    let first = me(&app, pair["access_token"].as_str().unwrap()).await;
    assert_eq!(first["user"]["email"], "sam@acme.test");
    assert_eq!(first["user"]["role"], "learner");
    assert_eq!(
        user_count(&app, &org).await,
        before + 1,
        "created just in time"
    );

    // The same response again: refused, and its assertion id is on record until it expires.
    refused_because(&app, &posted, "already finished").await;
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    let seen: i64 = {
        use diesel::prelude::*;
        use reprise::store::schema::saml_assertions_seen::dsl::*;
        saml_assertions_seen.count().get_result(&mut conn).unwrap()
    };
    assert!(seen >= 1, "the assertion id is kept");

    // A second sign-in finds the same member.
    let posted = answer(&app, &idp, &sp, "sam@acme.test").await;
    let code = console_code(&post_acs(&app, &posted).await);
    let pair = expect_json(exchange(&app, &code).await, StatusCode::OK).await;
    let second = me(&app, pair["access_token"].as_str().unwrap()).await;
    assert_eq!(second["user"]["id"], first["user"]["id"]);
    assert_eq!(user_count(&app, &org).await, before + 1);
}

#[actix_web::test]
async fn unsigned_misaddressed_and_expired_responses_are_refused() {
    let idp = signing_idp();
    let (app, org) = acme_with_saml(&idp).await;
    let sp = service_provider(&app).await;
    let before = user_count(&app, &org).await;

    // Its signatures removed (the crate's IdP will not issue an unsigned response).
    let mut posted = answer(&app, &idp, &sp, "sam@acme.test").await;
    rewrite_response(&mut posted, strip_signatures);
    refused_because(&app, &posted, "signature missing").await;

    // Signed, then altered: the signature no longer matches.
    let mut posted = answer(&app, &idp, &sp, "sam@acme.test").await;
    rewrite_response(&mut posted, |xml| {
        xml.replace("sam@acme.test", "ada@acme.test")
    });
    refused_because(&app, &posted, "signature verification failed").await;

    // Signed by a key the saved metadata does not list.
    let posted = answer(&app, &other_key_idp(), &sp, "sam@acme.test").await;
    refused_because(&app, &posted, "certificate mismatch").await;

    // Answering Reprise's request, but made out to another service: its audience is not
    // Reprise.
    let posted = answer_for_another_service(&app, &idp, &sp, "sam@acme.test").await;
    refused_because(&app, &posted, "audience restriction").await;

    // Past NotOnOrAfter (one minute of life, five of allowed clock skew) though the sign-in
    // itself is still open.
    let short = identity_provider(Duration::from_secs(60));
    let posted = answer(&app, &short, &sp, "sam@acme.test").await;
    app.clock.advance(chrono::Duration::minutes(7));
    refused_because(&app, &posted, "time window").await;

    // Without the browser's state cookie.
    let mut posted = answer(&app, &idp, &sp, "sam@acme.test").await;
    posted.cookie = "reprise_sso_state=someone-elses".into();
    refused_because(&app, &posted, "not started in this browser").await;

    assert_eq!(user_count(&app, &org).await, before, "nobody was created");
}

#[actix_web::test]
async fn saml_settings_need_usable_metadata() {
    let app = spawn_sso_app().await;
    let org = app.create_org("Acme", "ada@acme.test").await;
    for (metadata, field) in [
        ("", "idp_metadata_xml"),
        ("<not-metadata/>", "idp_metadata_xml"),
    ] {
        let res = app
            .client
            .put(app.url("/api/v1/org/sso"))
            .bearer_auth(&org.admin_token)
            .json(&json!({
                "protocol": "saml", "idp_metadata_xml": metadata,
                "email_domains": ["acme.test"], "default_role": "learner",
                "allow_password_login": true,
            }))
            .send()
            .await
            .unwrap();
        let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(problem_fields(&problem), [field], "{problem}");
    }
    expect_problem(
        app.get("/api/v1/auth/saml/metadata?org=nobody", None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[actix_web::test]
async fn attributes_give_name_role_and_teams() {
    let idp = attribute_sending_idp();
    let (app, org) = acme_with_saml(&idp).await;
    let res = app
        .client
        .put(app.url("/api/v1/org/sso"))
        .bearer_auth(&org.admin_token)
        .json(&json!({
            "protocol": "saml",
            "idp_metadata_xml": idp.metadata_xml(),
            "email_domains": ["acme.test"],
            "default_role": "learner",
            "role_claim": "memberOf",
            "role_map": {"Sales Managers": "manager"},
            "team_claim": "department",
            "allow_password_login": true,
        }))
        .send()
        .await
        .unwrap();
    expect_json(res, StatusCode::OK).await;
    let sp = service_provider(&app).await;

    let person = |group: &str, department: &str| saml_rs::raw::User {
        // The name id is the directory's own key; the address comes from the `email` attribute.
        name_id: "00u1sam".into(),
        attributes: vec![
            ("email".into(), "sam@acme.test".into()),
            ("name".into(), "Sam Seller".into()),
            ("group".into(), group.into()),
            ("department".into(), department.into()),
        ],
        session_index: None,
    };
    let posted = raw_answer(&app, &idp, &sp, Audience::Reprise, person("Sales", "East")).await;
    let code = console_code(&post_acs(&app, &posted).await);
    let pair = expect_json(exchange(&app, &code).await, StatusCode::OK).await;
    let first = me(&app, pair["access_token"].as_str().unwrap()).await;
    assert_eq!(first["user"]["email"], "sam@acme.test");
    assert_eq!(first["user"]["name"], "Sam Seller");
    assert_eq!(first["user"]["role"], "learner", "an unmapped group");
    assert_eq!(team_names(&app, &org, &first["team_ids"]).await, ["East"]);

    // Promoted and moved in the directory: the next sign-in follows.
    let posted = raw_answer(
        &app,
        &idp,
        &sp,
        Audience::Reprise,
        person("Sales Managers", "West"),
    )
    .await;
    let code = console_code(&post_acs(&app, &posted).await);
    let pair = expect_json(exchange(&app, &code).await, StatusCode::OK).await;
    let second = me(&app, pair["access_token"].as_str().unwrap()).await;
    assert_eq!(second["user"]["id"], first["user"]["id"]);
    assert_eq!(second["user"]["role"], "manager");
    assert_eq!(team_names(&app, &org, &second["team_ids"]).await, ["West"]);
}

#[actix_web::test]
async fn a_browser_that_is_refused_sees_why_and_the_way_back() {
    let idp = signing_idp();
    let (app, _org) = acme_with_saml(&idp).await;
    let sp = service_provider(&app).await;

    let mut posted = answer(&app, &idp, &sp, "sam@acme.test").await;
    rewrite_response(&mut posted, strip_signatures);
    let res = app
        .client
        .post(app.url("/api/v1/auth/saml/acs"))
        .header(COOKIE, &posted.cookie)
        .header(ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
        .form(&posted.fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let kind = res.headers()[CONTENT_TYPE].to_str().unwrap().to_string();
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(res.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
    let page = res.text().await.unwrap();
    assert!(page.contains("Single sign-on did not work"), "{page}");
    assert!(page.contains("signature missing"), "the reason: {page}");
    assert!(page.contains("href=\"/#/signin\""), "the way back: {page}");

    // Starting with an address no organization signs in for: the same kind of page, whose
    // text is the server's own (nothing from the address is echoed as markup).
    let res = app
        .client
        .get(app.url("/api/v1/auth/sso/start?email=%3Cb%3Emallory%3C%2Fb%3E@elsewhere.test"))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    let page = res.text().await.unwrap();
    assert!(page.contains("Single sign-on did not work"), "{page}");
    assert!(!page.contains("<b>"), "{page}");

    // API clients still get the problem document.
    let mut posted = answer(&app, &idp, &sp, "sam@acme.test").await;
    rewrite_response(&mut posted, strip_signatures);
    refused_because(&app, &posted, "signature missing").await;
}
