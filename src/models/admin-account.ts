/**
 * The admin account as the installer would make it. Subiquity 24.04 does not create
 * the `identity:` user during the install: it writes a cloud-init config into the
 * target (etc/cloud/cloud.cfg.d/99-installer.cfg) and cloud-init creates the user at
 * first boot (subiquity/models/subiquity.py `_cloud_init_config`). Late-commands, which
 * must chown /ai/* to the admin and add it to docker, run before that, so late-system
 * creates the account itself with the same name, hash, shell and groups; cloud-init
 * then finds it present and leaves it be.
 */

/** Ubuntu's default groups for the first user (those the target has are used). */
export const ADMIN_GROUPS = ['adm', 'cdrom', 'dip', 'plugdev', 'sudo', 'users', 'lxd'] as const;

/** The admin's login shell, as subiquity's cloud-init config sets it. */
export const ADMIN_SHELL = '/bin/bash';
