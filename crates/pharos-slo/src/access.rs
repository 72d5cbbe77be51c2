//! Who may do what with a service. The rules live here, in the service layer, so every
//! transport (HTTP, the assistant's tools) applies the same ones:
//!
//! - an **owner** is a user named in `owners`, or a member of a `group:<name>` named there;
//! - a service may be **read** by administrators, its owners and the readers of its project;
//!   a service seen in logs but not in the catalog only by administrators;
//! - its **threshold** may be changed by administrators, its owners and the editors of its
//!   project;
//! - its **project, owners and objective** by administrators and the editors of its project
//!   (who may only move it into another project they edit).

use crate::model::ServiceEntry;

/// The caller, as the SLO layer needs to know it.
pub trait Viewer: Sync {
    /// The user name.
    fn name(&self) -> &str;
    /// The groups the identity provider says the user is in.
    fn groups(&self) -> &[String];
    /// Whether the user may do everything everywhere.
    fn is_admin(&self) -> bool;
    /// Whether the user may read the dashboards of `project`.
    fn can_read_project(&self, project: &str) -> bool;
    /// Whether the user may change the dashboards of `project`.
    fn can_edit_project(&self, project: &str) -> bool;
}

/// Whether `viewer` is one of `entry`'s owners.
pub(crate) fn owns(viewer: &dyn Viewer, entry: &ServiceEntry) -> bool {
    entry
        .owners
        .iter()
        .any(|owner| match owner.strip_prefix("group:") {
            Some(group) => viewer.groups().iter().any(|g| g == group),
            None => owner == viewer.name(),
        })
}

/// Whether `viewer` may read `entry` (`None`: a service without a catalog entry).
pub(crate) fn can_read(viewer: &dyn Viewer, entry: Option<&ServiceEntry>) -> bool {
    if viewer.is_admin() {
        return true;
    }
    entry.is_some_and(|entry| {
        owns(viewer, entry)
            || entry
                .project
                .as_deref()
                .is_some_and(|p| viewer.can_read_project(p))
    })
}

/// Whether `viewer` may change `entry`'s threshold.
pub(crate) fn can_set_threshold(viewer: &dyn Viewer, entry: Option<&ServiceEntry>) -> bool {
    if viewer.is_admin() {
        return true;
    }
    entry.is_some_and(|entry| {
        owns(viewer, entry)
            || entry
                .project
                .as_deref()
                .is_some_and(|p| viewer.can_edit_project(p))
    })
}

/// Whether `viewer` may change `entry`'s project, owners and objective.
pub(crate) fn can_manage(viewer: &dyn Viewer, entry: Option<&ServiceEntry>) -> bool {
    viewer.is_admin()
        || entry
            .and_then(|e| e.project.as_deref())
            .is_some_and(|p| viewer.can_edit_project(p))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A viewer for tests: `name`, `groups`, admin or not, the projects read and edited.
    pub struct TestViewer {
        pub name: String,
        pub groups: Vec<String>,
        pub admin: bool,
        pub reads: Vec<String>,
        pub edits: Vec<String>,
    }

    impl TestViewer {
        pub fn user(name: &str) -> Self {
            Self {
                name: name.to_owned(),
                groups: Vec::new(),
                admin: false,
                reads: Vec::new(),
                edits: Vec::new(),
            }
        }
        pub fn admin() -> Self {
            Self {
                admin: true,
                ..Self::user("root")
            }
        }
    }

    impl Viewer for TestViewer {
        fn name(&self) -> &str {
            &self.name
        }
        fn groups(&self) -> &[String] {
            &self.groups
        }
        fn is_admin(&self) -> bool {
            self.admin
        }
        fn can_read_project(&self, project: &str) -> bool {
            self.reads.iter().chain(&self.edits).any(|p| p == project)
        }
        fn can_edit_project(&self, project: &str) -> bool {
            self.edits.iter().any(|p| p == project)
        }
    }

    fn entry(project: Option<&str>, owners: &[&str]) -> ServiceEntry {
        ServiceEntry {
            id: "checkout".into(),
            project: project.map(str::to_owned),
            owners: owners.iter().map(|o| (*o).to_owned()).collect(),
            threshold_ms: 300,
            objective: None,
            threshold_history: Vec::new(),
        }
    }

    #[test]
    fn owners_by_name_or_group_read_and_set_thresholds_but_do_not_manage() {
        let e = entry(None, &["alice", "group:payments"]);
        let alice = TestViewer::user("alice");
        let mut bob = TestViewer::user("bob");
        assert!(owns(&alice, &e) && can_read(&alice, Some(&e)));
        assert!(can_set_threshold(&alice, Some(&e)) && !can_manage(&alice, Some(&e)));
        assert!(!owns(&bob, &e) && !can_read(&bob, Some(&e)));
        bob.groups.push("payments".into());
        assert!(owns(&bob, &e) && can_set_threshold(&bob, Some(&e)));
        // A user literally named "group:payments" is not the group.
        let impostor = TestViewer::user("payments");
        assert!(!owns(&impostor, &e));
    }

    #[test]
    fn project_readers_read_editors_set_and_manage_others_see_nothing() {
        let e = entry(Some("shop"), &[]);
        let mut reader = TestViewer::user("r");
        reader.reads.push("shop".into());
        let mut editor = TestViewer::user("e");
        editor.edits.push("shop".into());
        let mut other = TestViewer::user("o");
        other.edits.push("elsewhere".into());
        assert!(can_read(&reader, Some(&e)) && !can_set_threshold(&reader, Some(&e)));
        assert!(can_set_threshold(&editor, Some(&e)) && can_manage(&editor, Some(&e)));
        assert!(!can_read(&other, Some(&e)) && !can_manage(&other, Some(&e)));
    }

    #[test]
    fn services_without_an_entry_are_for_administrators_only() {
        let mut editor = TestViewer::user("e");
        editor.edits.push("shop".into());
        assert!(!can_read(&editor, None) && !can_set_threshold(&editor, None));
        assert!(!can_manage(&editor, None));
        let admin = TestViewer::admin();
        assert!(can_read(&admin, None) && can_set_threshold(&admin, None));
        assert!(can_manage(&admin, None));
    }
}
