-- Undoes the table made by `[[ command ]]`.

DROP TABLE [[ table ]];
