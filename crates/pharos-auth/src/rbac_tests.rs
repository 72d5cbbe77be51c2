use super::*;

fn user(name: &str) -> Subject {
    Subject {
        kind: SubjectKind::User,
        name: name.to_owned(),
    }
}

fn binding(role: &str, users: &[&str]) -> RoleBindingSpec {
    RoleBindingSpec {
        role: role.to_owned(),
        subjects: users.iter().map(|u| user(u)).collect(),
    }
}

/// Two projects with the default roles; alice owns team-a, bob views team-b, carol edits
/// team-a, dave is a global admin.
fn two_team_policy() -> Policy {
    let mut policy = Policy::default();
    for project in ["team-a", "team-b"] {
        for (name, spec) in default_project_roles() {
            policy
                .roles
                .insert((project.to_owned(), name.to_owned()), spec);
        }
    }
    policy
        .bindings
        .push(("team-a".to_owned(), binding("owner", &["alice"])));
    policy
        .bindings
        .push(("team-a".to_owned(), binding("editor", &["carol"])));
    policy
        .bindings
        .push(("team-b".to_owned(), binding("viewer", &["bob"])));
    policy.global_roles.insert(
        "admin".to_owned(),
        RoleSpec {
            permissions: vec![Permission::new([Action::All], [Scope::All])],
        },
    );
    policy.global_bindings.push(binding("admin", &["dave"]));
    policy
}

#[test]
fn project_roles_hold_in_their_project_only() {
    let policy = two_team_policy();
    let alice = policy.grants_for("alice");
    assert!(alice.allows(Action::Delete, Some("team-a"), Scope::Dashboard));
    assert!(alice.allows(Action::Update, Some("team-a"), Scope::Project));
    assert!(alice.allows(Action::Share, Some("team-a"), Scope::Dashboard));
    assert!(!alice.allows(Action::Read, Some("team-b"), Scope::Dashboard));
    assert!(!alice.can_see_project("team-b"));
    assert!(alice.can_see_project("team-a"));
    // Owning a project does not reach global kinds or the server-wide APIs.
    assert!(!alice.allows(Action::Read, None, Scope::GlobalDatasource));
    assert!(!alice.allows(Action::Read, Some("team-a"), Scope::Metrics));
    assert!(!alice.allows(Action::Read, None, Scope::AuditLog));
}

#[test]
fn viewers_read_and_editors_edit_content_but_not_roles() {
    let policy = two_team_policy();
    let bob = policy.grants_for("bob");
    assert!(bob.allows(Action::Read, Some("team-b"), Scope::Dashboard));
    assert!(bob.can_see_project("team-b"));
    assert!(!bob.allows(Action::Update, Some("team-b"), Scope::Dashboard));
    assert!(!bob.allows(Action::Share, Some("team-b"), Scope::Dashboard));
    let carol = policy.grants_for("carol");
    assert!(carol.allows(Action::Create, Some("team-a"), Scope::Dashboard));
    assert!(carol.allows(Action::Share, Some("team-a"), Scope::Dashboard));
    assert!(carol.allows(Action::Read, Some("team-a"), Scope::RoleBinding));
    assert!(!carol.allows(Action::Create, Some("team-a"), Scope::RoleBinding));
    assert!(!carol.allows(Action::Delete, Some("team-a"), Scope::Project));
}

#[test]
fn global_roles_reach_everything_they_name() {
    let dave = two_team_policy().grants_for("dave");
    assert!(dave.allows(Action::Delete, Some("team-b"), Scope::Dashboard));
    assert!(dave.allows(Action::Read, None, Scope::AuditLog));
    assert!(dave.allows(Action::Read, None, Scope::Metrics));
    assert!(dave.can_see_project("anything"));
}

#[test]
fn strangers_and_dangling_bindings_get_nothing() {
    let mut policy = two_team_policy();
    policy
        .bindings
        .push(("team-b".to_owned(), binding("no-such-role", &["eve"])));
    policy.global_bindings.push(binding("ghost", &["eve"]));
    let eve = policy.grants_for("eve");
    assert_eq!(eve, Grants::default());
    assert!(!eve.allows(Action::Read, Some("team-b"), Scope::Dashboard));
    assert!(eve.permission_map().is_empty());
}

#[test]
fn a_binding_in_one_project_does_not_use_the_same_role_name_elsewhere() {
    let mut policy = Policy::default();
    policy.roles.insert(
        ("team-b".to_owned(), "custom".to_owned()),
        RoleSpec {
            permissions: vec![Permission::new([Action::All], [Scope::All])],
        },
    );
    // team-a has no role "custom": the binding grants nothing, and certainly not team-b's.
    policy
        .bindings
        .push(("team-a".to_owned(), binding("custom", &["mallory"])));
    let mallory = policy.grants_for("mallory");
    assert!(!mallory.allows(Action::Read, Some("team-a"), Scope::Dashboard));
    assert!(!mallory.allows(Action::Read, Some("team-b"), Scope::Dashboard));
}

#[test]
fn guest_permissions_apply_to_everyone() {
    let mut policy = Policy::default();
    policy
        .guest
        .push(Permission::new([Action::Create], [Scope::Project]));
    let anyone = policy.grants_for("anyone");
    assert!(anyone.allows(Action::Create, Some("new-project"), Scope::Project));
    assert!(!anyone.allows(Action::Read, Some("new-project"), Scope::Dashboard));
    assert_eq!(
        anyone.permission_map().get("*"),
        Some(&vec![Permission::new([Action::Create], [Scope::Project])])
    );
}

#[test]
fn permission_map_lists_global_and_project_entries() {
    let alice = two_team_policy().grants_for("alice");
    let map = alice.permission_map();
    assert_eq!(map.keys().collect::<Vec<_>>(), vec!["team-a"]);
    let json = serde_json::to_value(&map).unwrap_or_default();
    assert_eq!(json["team-a"][0]["actions"][0], "*");
    assert_eq!(json["team-a"][0]["scopes"][0], "*");
}

#[test]
fn api_tokens_never_exceed_their_owner_or_their_scope() {
    let alice = two_team_policy().grants_for("alice");
    let projects = vec!["team-a".to_owned()];
    let token = alice.restricted_to(&projects, &[Action::Read]);
    assert!(token.allows(Action::Read, Some("team-a"), Scope::Dashboard));
    assert!(!token.allows(Action::Update, Some("team-a"), Scope::Dashboard));
    assert!(!token.allows(Action::Read, None, Scope::GlobalDatasource));
    // A wider token scope than the owner has still gives only the owner's rights.
    let wide = alice.restricted_to(&[], &[Action::All]);
    assert!(!wide.allows(Action::Read, Some("team-b"), Scope::Dashboard));
    assert!(wide.allows(Action::Delete, Some("team-a"), Scope::Dashboard));
}

#[test]
fn wire_format_is_case_insensitive_in_and_canonical_out() -> Result<(), serde_json::Error> {
    let permission: Permission = serde_json::from_str(
        r#"{"actions":["READ","*"],"scopes":["dashboard","globalrole","*"]}"#,
    )?;
    assert_eq!(
        permission,
        Permission::new(
            [Action::Read, Action::All],
            [Scope::Dashboard, Scope::GlobalRole, Scope::All]
        )
    );
    assert_eq!(
        serde_json::to_string(&permission)?,
        r#"{"actions":["read","*"],"scopes":["Dashboard","GlobalRole","*"]}"#
    );
    let unknown = serde_json::from_str::<Permission>(r#"{"actions":["fly"],"scopes":["*"]}"#);
    assert!(unknown.is_err_and(|e| e.to_string().contains("unknown action \"fly\"")));
    Ok(())
}

#[test]
fn role_validation() {
    let global_in_project = [Permission::new([Action::Read], [Scope::GlobalSecret])];
    assert_eq!(
        validate_permissions(&global_in_project, false),
        Err(RbacError::GlobalScopeInProjectRole {
            index: 0,
            scope: Scope::GlobalSecret
        })
    );
    assert!(validate_permissions(&global_in_project, true).is_ok());
    let empty = [Permission::new([], [Scope::All])];
    assert_eq!(
        validate_permissions(&empty, true),
        Err(RbacError::NoActions { index: 0 })
    );
    assert_eq!(binding("owner", &[]).validate(), Err(RbacError::NoSubjects));
    assert_eq!(
        binding("owner", &["a", " "]).validate(),
        Err(RbacError::EmptySubject { index: 1 })
    );
}

#[test]
fn default_roles_are_valid_project_roles() {
    for (name, spec) in default_project_roles() {
        assert!(
            validate_permissions(&spec.permissions, false).is_ok(),
            "{name}"
        );
    }
}
