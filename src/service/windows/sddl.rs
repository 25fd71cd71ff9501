//! The named pipe's security descriptor (see the module's next commit).
