//! `tally admin`: user management for scripted set-ups, run while the server is
//! stopped (the embedded database allows one process at a time).

use std::io::BufRead;

use clap::{Args, Subcommand};
use tally_app::auth::Role;

use crate::auth::Accounts;
use crate::auth::accounts::AccountSettings;
use crate::cli::StoreArgs;
use crate::data_dir::{Access, DataDir};
use crate::store::database::Database;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a user, with the password read from standard input.
    CreateUser(CreateUserArgs),
}

#[derive(Debug, Args)]
pub struct CreateUserArgs {
    /// The user's name: 1 to 64 of `A-Z a-z 0-9 . _ -`.
    pub name: String,

    /// viewer, editor or admin.
    #[arg(long, default_value = "viewer", value_parser = Role::parse)]
    pub role: Role,

    /// Read the password from the first line of standard input (required:
    /// a password on the command line would show in `ps` and shell history).
    #[arg(long, required = true)]
    pub password_stdin: bool,

    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn run(command: &AdminCommand) -> Result<(), String> {
    match command {
        AdminCommand::CreateUser(args) => create_user(args),
    }
}

fn create_user(args: &CreateUserArgs) -> Result<(), String> {
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = password.trim_end_matches(['\n', '\r']);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let (data_dir, db_settings) = args.store.resolve().map_err(|e| e.to_string())?;
        // Never beside a running server: it holds the directory, and its
        // cached view of the accounts would miss this change.
        let _lock = DataDir::lock(&data_dir, Access::Exclusive).map_err(|e| e.to_string())?;
        let db = Database::open(&db_settings)
            .await
            .map_err(|e| e.to_string())?;
        crate::store::migrations::migrate(&db)
            .await
            .map_err(|e| e.to_string())?;
        let accounts = Accounts::new(db, AccountSettings::default());
        let user = accounts
            .create_user_offline(&args.name, password, args.role)
            .await
            .map_err(|e| e.to_string())?;
        println!("created user {} ({}), id {}", user.name, user.role, user.id);
        Ok(())
    })
}
