// @generated automatically by Diesel CLI.

diesel::table! {
    assignment_learners (org_id, assignment_id, learner_id) {
        org_id -> Text,
        assignment_id -> Text,
        learner_id -> Text,
    }
}

diesel::table! {
    assignments (org_id, id) {
        org_id -> Text,
        id -> Text,
        pack_id -> Text,
        team_id -> Nullable<Text>,
        starts_on -> Date,
        ends_on -> Nullable<Date>,
        daily_cap -> Integer,
        desired_retention -> Double,
        policy -> Text,
        fast_ms -> Integer,
        slow_ms -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        target_date -> Nullable<Date>,
    }
}

diesel::table! {
    audit_events (org_id, id) {
        org_id -> Text,
        id -> Text,
        at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        action -> Text,
        target_type -> Text,
        target_id -> Text,
        before -> Nullable<Text>,
        after -> Nullable<Text>,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    choice_counts (org_id, nugget_id, team_id, option_id, shard) {
        org_id -> Text,
        nugget_id -> Text,
        team_id -> Text,
        option_id -> Text,
        shard -> Integer,
        answers -> BigInt,
    }
}

diesel::table! {
    coaching_notes (org_id, id) {
        org_id -> Text,
        id -> Text,
        learner_id -> Text,
        author_id -> Text,
        topic -> Text,
        body -> Text,
        created_at -> Timestamp,
        seen_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    deliveries (org_id, learner_id, day, nugget_id) {
        org_id -> Text,
        learner_id -> Text,
        day -> Date,
        nugget_id -> Text,
        delivered_at -> Timestamp,
    }
}

diesel::table! {
    experiment_kpis (org_id, experiment_id, learner_id, kpi) {
        org_id -> Text,
        experiment_id -> Text,
        learner_id -> Text,
        kpi -> Text,
        value -> Double,
        uploaded_at -> Timestamp,
    }
}

diesel::table! {
    experiment_members (org_id, experiment_id, learner_id) {
        org_id -> Text,
        experiment_id -> Text,
        learner_id -> Text,
        arm -> Text,
        joined_at -> Timestamp,
    }
}

diesel::table! {
    experiments (org_id, id) {
        org_id -> Text,
        id -> Text,
        name -> Text,
        assignment_id -> Text,
        arms -> Text,
        probes_per_week -> Integer,
        created_by -> Text,
        started_at -> Timestamp,
        stopped_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    idempotency_keys (org_id, user_id, key) {
        org_id -> Text,
        user_id -> Text,
        key -> Text,
        request_hash -> Text,
        response_status -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    kpis (org_id, user_id, period, metric) {
        org_id -> Text,
        user_id -> Text,
        period -> Text,
        metric -> Text,
        value -> Double,
        uploaded_at -> Timestamp,
    }
}

diesel::table! {
    learner_weeks (org_id, learner_id, week_start) {
        org_id -> Text,
        learner_id -> Text,
        week_start -> Date,
        answers -> BigInt,
        correct -> BigInt,
        on_time -> BigInt,
        days -> Integer,
        rt_00 -> Integer,
        rt_01 -> Integer,
        rt_02 -> Integer,
        rt_03 -> Integer,
        rt_04 -> Integer,
        rt_05 -> Integer,
        rt_06 -> Integer,
        rt_07 -> Integer,
        rt_08 -> Integer,
        rt_09 -> Integer,
        rt_10 -> Integer,
        rt_11 -> Integer,
        rt_12 -> Integer,
        rt_13 -> Integer,
        rt_14 -> Integer,
        rt_15 -> Integer,
        rt_16 -> Integer,
        rt_17 -> Integer,
        rt_18 -> Integer,
        rt_19 -> Integer,
        rt_20 -> Integer,
        rt_21 -> Integer,
        rt_22 -> Integer,
        rt_23 -> Integer,
        rt_24 -> Integer,
        rt_25 -> Integer,
        rt_26 -> Integer,
        rt_27 -> Integer,
        rt_28 -> Integer,
        rt_29 -> Integer,
        rt_30 -> Integer,
        rt_31 -> Integer,
        rt_32 -> Integer,
        rt_33 -> Integer,
        rt_34 -> Integer,
        rt_35 -> Integer,
        rt_36 -> Integer,
        rt_37 -> Integer,
        rt_38 -> Integer,
        rt_39 -> Integer,
        rt_40 -> Integer,
        rt_41 -> Integer,
        rt_42 -> Integer,
        rt_43 -> Integer,
        rt_44 -> Integer,
        rt_45 -> Integer,
        rt_46 -> Integer,
        rt_47 -> Integer,
        rt_48 -> Integer,
        rt_49 -> Integer,
    }
}

diesel::table! {
    logins (email, org_id) {
        email -> Text,
        org_id -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    media (org_id, id) {
        org_id -> Text,
        id -> Text,
        content_type -> Text,
        width -> Integer,
        height -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    media_bodies_to_move (org_id, id) {
        org_id -> Text,
        id -> Text,
        body -> Binary,
    }
}

diesel::table! {
    memory_states (org_id, learner_id, nugget_id) {
        org_id -> Text,
        learner_id -> Text,
        nugget_id -> Text,
        pack_version_id -> Text,
        assignment_id -> Text,
        status -> Text,
        stability -> Nullable<Double>,
        difficulty -> Nullable<Double>,
        reps -> Integer,
        lapses -> Integer,
        correct_streak -> Integer,
        first_correct -> Nullable<Bool>,
        first_answered_at -> Nullable<Timestamp>,
        last_review_at -> Nullable<Timestamp>,
        due_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    notification_settings (org_id, learner_id) {
        org_id -> Text,
        learner_id -> Text,
        push -> Bool,
        email -> Bool,
        remind_at -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    nudges (org_id, id) {
        org_id -> Text,
        id -> Text,
        learner_id -> Text,
        channel -> Text,
        local_day -> Date,
        status -> Text,
        reason -> Nullable<Text>,
        waiting -> Integer,
        opening -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    nugget_versions (org_id, pack_version_id, nugget_id) {
        org_id -> Text,
        nugget_id -> Text,
        pack_version_id -> Text,
        position -> Integer,
        topic -> Text,
        tags -> Text,
        prompt -> Text,
        options -> Text,
        explanation -> Text,
        media_url -> Nullable<Text>,
        kind -> Text,
        rubric -> Nullable<Text>,
        max_seconds -> Nullable<Integer>,
    }
}

diesel::table! {
    nuggets (org_id, id) {
        org_id -> Text,
        id -> Text,
        pack_id -> Text,
        key -> Text,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    observations (org_id, id) {
        org_id -> Text,
        id -> Text,
        learner_id -> Text,
        observer_id -> Text,
        topic -> Text,
        applied -> Integer,
        note -> Nullable<Text>,
        observed_on -> Date,
        created_at -> Timestamp,
    }
}

diesel::table! {
    organizations (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        timezone -> Text,
        quiet_weekdays -> Text,
        fsrs_parameters -> Nullable<Text>,
        fsrs_fitted_at -> Nullable<Timestamp>,
        lrs_endpoint -> Nullable<Text>,
        lrs_username -> Nullable<Text>,
        lrs_password -> Nullable<Text>,
        created_at -> Timestamp,
        nudge_push -> Bool,
        nudge_email -> Bool,
        nudge_at -> Text,
        strict_imports -> Bool,
        leaderboards -> Bool,
        peer_review -> Bool,
    }
}

diesel::table! {
    pack_versions (org_id, id) {
        org_id -> Text,
        id -> Text,
        pack_id -> Text,
        version -> Integer,
        content_hash -> Text,
        title -> Text,
        description -> Text,
        language -> Text,
        desired_retention -> Nullable<Double>,
        daily_cap -> Nullable<Integer>,
        published_at -> Timestamp,
        published_by -> Text,
    }
}

diesel::table! {
    packs (org_id, id) {
        org_id -> Text,
        id -> Text,
        slug -> Text,
        title -> Text,
        draft -> Nullable<Text>,
        draft_hash -> Nullable<Text>,
        archived_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    pauses (org_id, id) {
        org_id -> Text,
        id -> Text,
        learner_id -> Text,
        starts_on -> Date,
        ends_on -> Date,
        created_at -> Timestamp,
    }
}

diesel::table! {
    pitch_reviews (org_id, id) {
        org_id -> Text,
        id -> Text,
        pitch_id -> Text,
        learner_id -> Text,
        reviewer_id -> Text,
        topic -> Text,
        scores -> Text,
        mean_score -> Double,
        comment -> Text,
        created_at -> Timestamp,
        seen_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    pitches (org_id, id) {
        org_id -> Text,
        id -> Text,
        learner_id -> Text,
        nugget_id -> Text,
        pack_version_id -> Text,
        topic -> Text,
        attempt_id -> Text,
        content_type -> Text,
        bytes -> BigInt,
        duration_ms -> Integer,
        storage_key -> Text,
        created_at -> Timestamp,
        shared_at -> Nullable<Timestamp>,
        shared_by -> Nullable<Text>,
    }
}

diesel::table! {
    planner_estimates (org_id, learner_id) {
        org_id -> Text,
        learner_id -> Text,
        ln_factor -> Double,
        inverse_variance -> Double,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    probe_results (org_id, experiment_id, learner_id, nugget_id, day) {
        org_id -> Text,
        experiment_id -> Text,
        learner_id -> Text,
        nugget_id -> Text,
        day -> Date,
        arm -> Text,
        correct -> Bool,
        options -> Integer,
        answered_at -> Timestamp,
    }
}

diesel::table! {
    push_subscriptions (org_id, id) {
        org_id -> Text,
        id -> Text,
        learner_id -> Text,
        endpoint -> Text,
        p256dh -> Text,
        auth -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    queue_epochs (org_id, learner_id) {
        org_id -> Text,
        learner_id -> Text,
        epoch -> BigInt,
    }
}

diesel::table! {
    recall_weeks (org_id, learner_id, week_start) {
        org_id -> Text,
        learner_id -> Text,
        week_start -> Date,
        decay -> Double,
        recall_sum -> Double,
        states -> Integer,
    }
}

diesel::table! {
    recall_weeks_done (org_id, week_start) {
        org_id -> Text,
        week_start -> Date,
        decay -> Double,
    }
}

diesel::table! {
    recall_weeks_stale (org_id, learner_id) {
        org_id -> Text,
        learner_id -> Text,
        from_week -> Date,
        version -> Integer,
    }
}

diesel::table! {
    refresh_tokens (org_id, id) {
        org_id -> Text,
        id -> Text,
        user_id -> Text,
        family_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        rotated_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresher_items (org_id, refresher_id, learner_id, nugget_id) {
        org_id -> Text,
        refresher_id -> Text,
        learner_id -> Text,
        nugget_id -> Text,
        assignment_id -> Text,
        planned_on -> Date,
    }
}

diesel::table! {
    refreshers (org_id, id) {
        org_id -> Text,
        id -> Text,
        created_by -> Text,
        team_id -> Nullable<Text>,
        topic -> Nullable<Text>,
        days -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    retention_stats (org_id, pack_id, bucket, shard) {
        org_id -> Text,
        pack_id -> Text,
        bucket -> Integer,
        shard -> Integer,
        reviews -> BigInt,
        correct -> BigInt,
        predicted_sum -> Double,
    }
}

diesel::table! {
    reviews (org_id, id) {
        org_id -> Text,
        id -> Text,
        learner_id -> Text,
        nugget_id -> Text,
        pack_version_id -> Text,
        assignment_id -> Text,
        attempt_id -> Text,
        request_hash -> Text,
        selected -> Text,
        correct -> Bool,
        partial_credit -> Double,
        response_ms -> Integer,
        confidence -> Nullable<Text>,
        rating -> Integer,
        client_answered_at -> Timestamp,
        answered_at -> Timestamp,
        received_at -> Timestamp,
        clock_flag -> Nullable<Text>,
        elapsed_days -> Nullable<Double>,
        stability_before -> Nullable<Double>,
        difficulty_before -> Nullable<Double>,
        stability_after -> Double,
        difficulty_after -> Double,
        status_after -> Text,
        due_after -> Nullable<Timestamp>,
        practice -> Nullable<Text>,
    }
}

diesel::table! {
    saml_assertions_seen (org_id, assertion_id) {
        org_id -> Text,
        assertion_id -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    scim_tokens (org_id) {
        org_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sign_in_links (org_id, token_hash) {
        org_id -> Text,
        token_hash -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        purpose -> Text,
    }
}

diesel::table! {
    sso_attempts (org_id, id) {
        org_id -> Text,
        id -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    sso_codes (org_id, hash) {
        org_id -> Text,
        hash -> Text,
        user_id -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sso_configs (org_id) {
        org_id -> Text,
        protocol -> Text,
        issuer -> Nullable<Text>,
        client_id -> Nullable<Text>,
        client_secret -> Nullable<Text>,
        idp_metadata_xml -> Nullable<Text>,
        default_role -> Text,
        role_claim -> Nullable<Text>,
        role_map -> Nullable<Text>,
        team_claim -> Nullable<Text>,
        allow_password_login -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sso_domains (domain) {
        domain -> Text,
        org_id -> Text,
    }
}

diesel::table! {
    team_members (org_id, team_id, user_id) {
        org_id -> Text,
        team_id -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    teams (org_id, id) {
        org_id -> Text,
        id -> Text,
        name -> Text,
        parent_id -> Nullable<Text>,
        created_at -> Timestamp,
        external_id -> Nullable<Text>,
    }
}

diesel::table! {
    users (org_id, id) {
        org_id -> Text,
        id -> Text,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        role -> Text,
        timezone -> Nullable<Text>,
        daily_max -> Nullable<Integer>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        auth_version -> BigInt,
        external_id -> Nullable<Text>,
        user_name -> Nullable<Text>,
        scim_profile -> Nullable<Text>,
        leaderboard_name -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_attempts (org_id, delivery_id, attempt) {
        org_id -> Text,
        delivery_id -> Text,
        attempt -> Integer,
        attempted_at -> Timestamp,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        duration_ms -> Integer,
    }
}

diesel::table! {
    webhook_deliveries (org_id, id) {
        org_id -> Text,
        id -> Text,
        webhook_id -> Text,
        event -> Text,
        event_key -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhooks (org_id, id) {
        org_id -> Text,
        id -> Text,
        url -> Text,
        events -> Text,
        format -> Text,
        description -> Text,
        secret -> Text,
        status -> Text,
        failing_since -> Nullable<Timestamp>,
        cursor_at -> Timestamp,
        cursor_id -> Text,
        risk_checked_on -> Nullable<Date>,
        digest_week -> Nullable<Date>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    xapi_outbox (org_id, statement_id) {
        org_id -> Text,
        statement_id -> Text,
        created_at -> Timestamp,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
    }
}

diesel::joinable!(packs -> organizations (org_id));
diesel::joinable!(recall_weeks_done -> organizations (org_id));
diesel::joinable!(saml_assertions_seen -> organizations (org_id));
diesel::joinable!(scim_tokens -> organizations (org_id));
diesel::joinable!(sso_attempts -> organizations (org_id));
diesel::joinable!(sso_configs -> organizations (org_id));
diesel::joinable!(sso_domains -> organizations (org_id));
diesel::joinable!(teams -> organizations (org_id));
diesel::joinable!(users -> organizations (org_id));

diesel::allow_tables_to_appear_in_same_query!(
    assignment_learners,
    assignments,
    audit_events,
    choice_counts,
    coaching_notes,
    deliveries,
    experiment_kpis,
    experiment_members,
    experiments,
    idempotency_keys,
    kpis,
    learner_weeks,
    logins,
    media,
    media_bodies_to_move,
    memory_states,
    notification_settings,
    nudges,
    nugget_versions,
    nuggets,
    observations,
    organizations,
    pack_versions,
    packs,
    pauses,
    pitch_reviews,
    pitches,
    planner_estimates,
    probe_results,
    push_subscriptions,
    queue_epochs,
    recall_weeks,
    recall_weeks_done,
    recall_weeks_stale,
    refresh_tokens,
    refresher_items,
    refreshers,
    retention_stats,
    reviews,
    saml_assertions_seen,
    scim_tokens,
    sign_in_links,
    sso_attempts,
    sso_codes,
    sso_configs,
    sso_domains,
    team_members,
    teams,
    users,
    webhook_attempts,
    webhook_deliveries,
    webhooks,
    xapi_outbox,
);
