//! `<app> accounts …`: what an operator does for a user who cannot. `show EMAIL` tells what the
//! account has; `two-factor-off EMAIL` turns off its two-factor log-in when its owner lost both
//! the authenticator app and the recovery codes, which only someone who checked who is asking,
//! outside the app, should do. Every session of the account ends with it.

use super::{Accounts, AuthError};
use crate::db::commands::CommandError;

/// What `<app> accounts` was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AccountsCommand {
    /// What the account has.
    Show(String),
    /// Turn its two-factor log-in off, and end its sessions.
    TwoFactorOff(String),
}

pub(crate) const USAGE: &str = "usage: <app> accounts [show EMAIL | two-factor-off EMAIL]";

/// Read the command line after `accounts`.
pub(crate) fn parse(args: &[String]) -> Result<AccountsCommand, CommandError> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["show", email] => Ok(AccountsCommand::Show((*email).to_string())),
        ["two-factor-off", email] => Ok(AccountsCommand::TwoFactorOff((*email).to_string())),
        [command @ ("show" | "two-factor-off")] => Err(CommandError::Usage(format!(
            "{command} needs the account's email address; {USAGE}"
        ))),
        [] => Err(CommandError::Usage(USAGE.to_string())),
        _ => Err(CommandError::Usage(format!(
            "unknown accounts command {:?}; {USAGE}",
            args.join(" ")
        ))),
    }
}

impl From<AuthError> for CommandError {
    fn from(e: AuthError) -> Self {
        CommandError::Failed(format!("the accounts: {e}"))
    }
}

/// Do it; the text to print.
pub(crate) async fn run(
    accounts: &Accounts,
    command: AccountsCommand,
) -> Result<String, CommandError> {
    let (AccountsCommand::Show(email) | AccountsCommand::TwoFactorOff(email)) = &command;
    let user = accounts
        .user_by_email(email)
        .await?
        .ok_or_else(|| CommandError::Failed(format!("no account has the address {email:?}")))?;
    let two_factor = accounts.two_factor(&user).await?;
    match command {
        AccountsCommand::Show(_) => {
            let passkeys = accounts.passkeys(&user).await?.len();
            let tokens = accounts.api_tokens(&user).await?;
            let live = tokens.iter().filter(|t| !t.expired()).count();
            Ok(format!(
                "account      {}\nid           {}\nconfirmed    {}\npassword     {}\n\
                 two-factor   {}\npasskeys     {passkeys}\napi tokens   {live} working, {} in \
                 all\n",
                user.email,
                user.id,
                if user.is_verified() { "yes" } else { "no" },
                if user.has_password() { "yes" } else { "no" },
                if two_factor.on {
                    format!(
                        "on ({} recovery codes left)",
                        two_factor.recovery_codes_left
                    )
                } else {
                    "off".to_string()
                },
                tokens.len(),
            ))
        }
        AccountsCommand::TwoFactorOff(_) => {
            if !two_factor.on {
                return Ok(format!(
                    "two-factor authentication is off already for {}\n",
                    user.email
                ));
            }
            accounts.remove_two_factor(user.id).await?;
            let ended = accounts.log_out_everywhere(user.id, None).await?;
            tracing::warn!(target: "torn::security", event = "two_factor_turned_off_by_operator",
                user = user.id);
            Ok(format!(
                "two-factor authentication is off for {}, and its {ended} session(s) ended: it \
                 logs in with its password, a log-in link or a passkey alone until its owner \
                 turns it on again\n",
                user.email
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{AccountsCommand, parse};

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn the_command_line_is_read_or_refused_with_the_usage() {
        assert_eq!(
            parse(&args("show ada@example.com")).unwrap(),
            AccountsCommand::Show("ada@example.com".into())
        );
        assert_eq!(
            parse(&args("two-factor-off ada@example.com")).unwrap(),
            AccountsCommand::TwoFactorOff("ada@example.com".into())
        );
        for (bad, says) in [
            ("", "usage:"),
            ("show", "needs the account's email address"),
            ("two-factor-off", "needs the account's email address"),
            ("delete ada@example.com", "unknown accounts command"),
            ("show a b", "unknown accounts command"),
        ] {
            let e = parse(&args(bad)).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.to_string().contains(says), "{bad}: {e}");
        }
    }
}
